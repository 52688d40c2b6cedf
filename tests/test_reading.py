"""What people read (issue 11): tables that never cut a name, one way to write money, one
meaning of "(untagged)", no noise, plurals, progress, forecasts that hold still, and a CLI
that can do what the Lambda does."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from spendwatch.aws.ledger import Ledger
from spendwatch.aws.reports import ReportStore
from spendwatch.cli import commands
from spendwatch.cli.commands import _meter_all, cli
from spendwatch.cli.render import budgets_table, chargeback_table, meter_table, scan_table
from spendwatch.core import budgets as bg
from spendwatch.core.chargeback import UNALLOCATED, Chargeback, from_records, from_rollups
from spendwatch.core.idle import ScanReport
from spendwatch.core.ledger import UNTAGGED
from spendwatch.core.metering import Basis, CostRecord, RecordKind
from spendwatch.core.money import display_pct, display_rate, display_usd
from spendwatch.core.notifications import idle_digests
from spendwatch.core.wording import count, plural
from spendwatch.services.chargeback import run_chargeback
from spendwatch.services.meter import MeterRun
from spendwatch.services.notify import NotifySettings, Prepared, budget_statuses, prepare
from spendwatch.services.scan import ScanSettings, run_scan
from spendwatch_emulator import demo_fleet, open_fleet
from tests.conftest import TINY_FLEET

WIDTHS = (80, 100, 120)


@dataclass
class Demo:
    report: ScanReport
    run: MeterRun
    by_team: Chargeback
    by_component: Chargeback
    by_model: Chargeback
    by_component_range: Chargeback
    prepared: Prepared


@pytest.fixture(scope="module")
def demo() -> Demo:
    """The demo fleet, scanned, metered, charged back and checked for notifications, once
    (the emulated AWS is closed again: one is open at a time)."""
    with demo_fleet() as path, open_fleet(path) as aws:
        report = run_scan(aws, ScanSettings())
        ledger = Ledger(aws.client("dynamodb"), aws.table_name(None), aws.retry)
        run = _meter_all(aws, ledger, 60)
        month = f"{aws.now:%Y-%m}"
        store = ReportStore(aws.client("dynamodb"), aws.table_name(None), aws.retry)
        store.put(report.to_json(), report.scanned_at, report.region)
        return Demo(
            report,
            run,
            run_chargeback(ledger, aws.region, "team", month=month),
            run_chargeback(ledger, aws.region, "component", month=month),
            run_chargeback(ledger, aws.region, "model", month=month),
            run_chargeback(
                ledger, aws.region, "component", start=datetime(2026, 11, 1, tzinfo=UTC), end=datetime(2026, 12, 1, tzinfo=UTC)
            ),
            prepare(aws, ledger, store, NotifySettings(), aws.now),
        )


def rendered(width: int, draw: Any, *args: Any) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    draw(*args, console)
    return console.export_text()


# -- names are never cut ------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_scan_table_shows_every_name_whole(demo: Demo, width: int) -> None:
    text = rendered(width, scan_table, demo.report)
    names = [e.endpoint.name for e in demo.report.endpoints] + [c.component.name for c in demo.report.components]
    assert len(names) > 10
    for name in names:
        assert name in text, f"{name} cut at {width} columns"
    assert all(len(line) <= width for line in text.splitlines())


@pytest.mark.parametrize("width", WIDTHS)
def test_meter_table_shows_every_name_whole(demo: Demo, width: int) -> None:
    text = rendered(width, meter_table, demo.run)
    for record in demo.run.records:
        assert record.endpoint_name in text
        assert (record.inference_component_name or "-") in text


@pytest.mark.parametrize("width", WIDTHS)
def test_chargeback_and_budget_tables_show_every_name_whole(demo: Demo, width: int) -> None:
    for result in (demo.by_team, demo.by_component, demo.by_model):
        text = rendered(width, chargeback_table, result)
        for key, _ in result.groups:
            assert key in text
    text = rendered(width, budgets_table, demo.prepared.statuses)
    assert demo.prepared.statuses
    for status in demo.prepared.statuses:
        assert status.budget.name in text


def test_a_narrow_table_drops_optional_columns_not_names(demo: Demo) -> None:
    text = rendered(80, scan_table, demo.report)
    assert "Suggested action" not in text
    assert "sentiment-serverless" in text
    assert "pricing-model-canary" in text


# -- one way to write money -----------------------------------------------------------------------


def test_money_for_people_rounds_half_up_with_separators() -> None:
    assert display_usd(Decimal("0.345")) == "$0.35"  # half-even would say $0.34
    assert display_usd(Decimal("1239.655")) == "$1,239.66"
    assert display_usd(Decimal("-2.5")) == "-$2.50"
    assert display_usd(None) == "unpriced"
    assert display_rate(Decimal("0.115")) == "$0.115/h"
    assert display_rate(Decimal("5.75")) == "$5.75/h"
    assert display_rate(Decimal("3030")) == "$3,030.00/h"
    assert display_pct(Decimal("34.45")) == "34.5"  # percentages too
    assert display_pct(Decimal("2.5"), 0) == "3"


def test_tables_write_money_one_way(demo: Demo) -> None:
    chargeback = rendered(120, chargeback_table, demo.by_team)
    assert "$1,239.66" in chargeback
    assert "1239.66" not in chargeback.replace("$1,239.66", "")  # no six-place figures for people
    meter = rendered(120, meter_table, demo.run)
    assert "$1,239.66 in all" in meter
    assert not any(len(cell.split(".")[-1]) > 3 for cell in meter.split() if cell.startswith("$") and "." in cell)
    half = Chargeback(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC), "team", (("a", Decimal("0.345")),))
    assert "$0.35" in rendered(80, chargeback_table, half)


def test_json_and_csv_keep_six_places() -> None:
    result = CliRunner().invoke(cli, ["chargeback", "--fleet", str(TINY_FLEET), "--month", "2026-11", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert all(len(g["cost_usd"].split(".")[1]) == 6 for g in json.loads(result.output)["groups"])


# -- "(untagged)" means one thing -------------------------------------------------------------------


def record(kind: RecordKind, cost: str, component: str | None = None, team: str | None = None) -> CostRecord:
    start = datetime(2026, 11, 20, tzinfo=UTC)
    return CostRecord(
        region="us-east-1",
        interval_start=start,
        interval_end=start + timedelta(hours=1),
        endpoint_name="shared",
        variant_name="AllTraffic",
        kind=kind,
        inference_component_name=component,
        model_name=None,
        instance_type="ml.g5.2xlarge",
        gpu_seconds=Decimal(0),
        core_seconds=Decimal(0),
        instance_seconds=Decimal(3600),
        cost_usd=Decimal(cost),
        basis=Basis.ALLOCATION,
        price_usd_per_hour=Decimal(cost),
        price_source="test",
        tags={"team": team} if team else {},
    )


def test_unallocated_capacity_is_not_untagged() -> None:
    records = [
        record(RecordKind.COMPONENT, "3", "ic-a", "search"),
        record(RecordKind.UNALLOCATED, "2"),
        record(RecordKind.ENDPOINT, "1"),
    ]
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    by_component = dict(from_records(records, "component", start, end).groups)
    assert by_component == {"ic-a": Decimal(3), UNALLOCATED: Decimal(2), UNTAGGED: Decimal(1)}
    assert dict(from_records(records, "team", start, end).groups) == {"search": Decimal(3), UNTAGGED: Decimal(3)}
    # a month read from its stored rollups names the same groups
    rollups = {"ic-a": Decimal(3), UNTAGGED: Decimal(3)}
    assert dict(from_rollups(rollups, "component", start, end, Decimal(2)).groups) == by_component


def test_month_and_range_agree_on_unallocated_capacity(demo: Demo) -> None:
    keys = dict(demo.by_component.groups)
    assert UNALLOCATED in keys
    assert UNTAGGED in keys
    assert demo.by_component.groups == demo.by_component_range.groups  # rollups split exactly as the records say
    text = " ".join(rendered(100, chargeback_table, demo.by_component).split())
    assert "(untagged): records with no component" in text
    assert "(unallocated capacity): GPU capacity of an endpoint that no inference component held" in text


def test_digests_spell_untagged_as_the_tables_do(demo: Demo) -> None:
    teams = [n.team for n, _ in demo.prepared.messages if n.kind == "idle-report"]
    assert UNTAGGED in teams
    digest = next(n for n, _ in demo.prepared.messages if n.team == UNTAGGED)
    assert f"team {UNTAGGED}" in digest.email
    assert "team untagged" not in digest.email


# -- no noise ---------------------------------------------------------------------------------------


def idle_entry(name: str, owner: str, kind: str = "instance", hourly: str | None = "1.000000") -> dict[str, Any]:
    return {
        "endpoint_name": name,
        "status": "idle",
        "kind": kind,
        "owner": owner,
        "hourly_cost_usd": hourly,
        "idle_since": "2026-11-19T06:00:00Z",
        "created_at": "2026-11-01T00:00:00Z",
    }


def report(*endpoints: dict[str, Any]) -> dict[str, Any]:
    return {
        "scanned_at": "2026-11-20T06:00:00Z",
        "lookback_hours": 24,
        "history_hours": 168,
        "endpoints": list(endpoints),
        "inference_components": [],
    }


def test_serverless_gets_no_digest_of_its_own() -> None:
    only_free = idle_digests(report(idle_entry("sls", "support", "serverless", "0.000000")), "us-east-1", "r")
    assert only_free == []
    (mixed,) = idle_digests(
        report(idle_entry("sls", "support", "serverless", "0.000000"), idle_entry("gpu", "support")), "us-east-1", "r"
    )
    assert mixed.subject.startswith("[spendwatch] 1 idle SageMaker resource of team support burns $1.00/h")
    info = [line for line in mixed.email.splitlines() if "sls" in line]
    assert len(info) == 1
    assert info[0].startswith("Info:")


def test_one_budget_one_alert_per_run(demo: Demo) -> None:
    alerts = [n for n, _ in demo.prepared.messages if n.kind == "budget"]
    budgets = [n.state_key[2:4] for n in alerts]
    assert len(budgets) == len(set(budgets))
    genai = next((n, also) for n, also in demo.prepared.messages if n.state_key[2:4] == ("endpoint", "genai-shared"))
    assert genai[0].state_key[-1] == "100"
    assert {s[-1] for s in genai[1]} == {"50", "80", "forecast"}  # marked sent with it


def test_at_least_in_the_header_when_a_line_says_so(demo: Demo) -> None:
    digest = next(n for n, _ in demo.prepared.messages if n.team == "vision")
    header = digest.email.splitlines()[2]
    assert "at least" in header
    assert any("at least" in line for line in digest.email.splitlines() if line.startswith("- "))


# -- grammar ----------------------------------------------------------------------------------------


def test_plurals() -> None:
    assert count(1, "idle endpoint") == "1 idle endpoint"
    assert count(2, "idle inference component") == "2 idle inference components"
    assert count(0, "record") == "0 records"
    assert plural("burns", 1) == "burns"
    assert plural("burns", 3) == "burn"
    assert plural("it", 1) == "it"
    assert plural("it", 2) == "they"


def test_scan_summary_and_digests_agree_in_number() -> None:
    result = CliRunner().invoke(cli, ["scan", "--fleet", str(TINY_FLEET)])
    assert "1 idle endpoint and 1 idle inference component burn" in result.output
    (digest,) = idle_digests(report(idle_entry("gpu", "search")), "us-east-1", "r")
    assert "1 idle SageMaker resource of team search burns" in digest.email
    assert "since it went idle" in digest.email


# -- progress ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["budgets", "--fleet", str(TINY_FLEET)], ["notify", "--fleet", str(TINY_FLEET)]])
def test_progress_on_a_terminal(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    terminal = io.StringIO()
    monkeypatch.setattr(commands, "stderr", Console(file=terminal, force_terminal=True, width=100))
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "metering" in terminal.getvalue()


def test_no_progress_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    piped = io.StringIO()
    monkeypatch.setattr(commands, "stderr", Console(file=piped, force_terminal=False, width=100))
    result = CliRunner().invoke(cli, ["budgets", "--fleet", str(TINY_FLEET)])
    assert result.exit_code == 0, result.output
    assert piped.getvalue() == ""


# -- forecasts that hold still ----------------------------------------------------------------------


def test_the_forecast_does_not_move_with_the_minute() -> None:
    config = bg.BudgetConfig((bg.Budget("team", "search", Decimal(150), "test"),))
    with open_fleet(TINY_FLEET) as aws:
        ledger = Ledger(aws.client("dynamodb"), aws.table_name(None), aws.retry)
        _meter_all(aws, ledger, 60)
        at = [budget_statuses(ledger, aws.region, config, aws.now + timedelta(minutes=m))[0] for m in (5, 30, 55)]
    assert at[0].forecast > at[0].month_to_date
    assert {s.forecast for s in at} == {at[0].forecast}
    assert at[0].as_of == datetime(2026, 11, 20, 6, tzinfo=UTC)


# -- the CLI can do what the Lambda does ------------------------------------------------------------


def test_scan_store_writes_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    stored: list[dict[str, Any]] = []
    monkeypatch.setattr(ReportStore, "put", lambda self, document, *args: stored.append(document))
    result = CliRunner().invoke(cli, ["scan", "--fleet", str(TINY_FLEET), "--store", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert [r["scanned_at"] for r in stored] == ["2026-11-20T06:00:00Z"]


def test_demo_shows_its_budget_problems() -> None:
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    assert "budget not read: endpoint llm-batch-shared" in result.output


def test_chargeback_help_lists_csv() -> None:
    result = CliRunner().invoke(cli, ["chargeback", "--help"])
    assert "csv or json for programs" in " ".join(result.output.split())


def test_statuses_replace_keeps_as_of() -> None:  # the as_of field is part of a status, not a side channel
    status = bg.BudgetStatus(bg.Budget("team", "x", Decimal(1), "t"), "2026-11", Decimal(0), Decimal(0))
    assert replace(status, as_of=datetime(2026, 11, 20, tzinfo=UTC)).as_of is not None
