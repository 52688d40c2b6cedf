"""`spendwatch statement`: a team's month for finance. Its figures equal chargeback's to the
micro-dollar, its page renders in a real headless Chromium, the notifier sends each team's
statement once on the 1st, and bad flags exit 2 naming the flag."""

from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from spendwatch.aws.ledger import Ledger
from spendwatch.aws.reports import ReportStore
from spendwatch.cli import main
from spendwatch.core import chargeback as cb
from spendwatch.core.metering import Basis, CostRecord, RecordKind
from spendwatch.core.money import format_money
from spendwatch.core.statement import BillComparison, IdleResources, build_statement, idle_from_report
from spendwatch.core.timestamps import align_down, month_bounds
from spendwatch.services.chargeback import run_chargeback
from spendwatch.services.meter import meter_as_scheduled
from spendwatch.services.prices import PriceSettings
from spendwatch.services.statement import read_statement
from tests.conftest import REPO, TINY_FLEET, emulated
from tests.lambdas import TABLE, Context, load_handler, run_in, sample_event, wall_clock
from tests.test_architecture import PACKAGE, imports_of

MONTH = "2026-11"
HOURS = 8
"""The tiny fleet with the last 8 hours of history: 22:00 on the 19th to 06:00 on the 20th
(two days of the month metered, the rest not), metered in a third of the time of its 30."""
SEARCH_PER_HOUR = Decimal("4.314")  # ic-chat's 2 of genai-shared's 4 GPUs, and the one no component holds
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def spendwatch(*args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    """The installed entry point in a process of its own, started (several run at once)."""
    return subprocess.Popen(
        [sys.executable, "-m", "spendwatch.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


# -- the figures: statement against chargeback, in process ---------------------------------------

IDLE_REPORT = {  # a stored idle scan, as ScanReport.to_json writes it (the fields the statement reads)
    "scanned_at": "2026-11-20T06:00:00Z",
    "history_hours": 30,
    "endpoints": [{"endpoint_name": "churn-model", "status": "idle", "idle_since": "2026-11-20T00:00:00Z"}],
    "inference_components": [
        {"inference_component_name": "ic-summarize", "status": "idle", "idle_since": None, "created_at": "2026-10-01T00:00:00Z"},
        {"inference_component_name": "ic-chat", "status": "active", "idle_since": None},
    ],
}


@pytest.fixture(scope="module")
def short_fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fleet") / "tiny-fleet-8h.json"
    path.write_text(json.dumps(json.loads(TINY_FLEET.read_text()) | {"history_hours": HOURS}))
    return path


@pytest.fixture(scope="module")
def ledger_figures(short_fleet: Path) -> dict[str, Any]:
    """The fleet's history metered as the hourly schedule would have; what chargeback and the
    statement say of November."""
    with emulated(json.loads(short_fleet.read_text())) as aws:
        assert aws.emulator is not None
        ledger = Ledger(aws.client("dynamodb"), aws.table_name(None), aws.retry)
        meter_as_scheduled(aws, ledger, align_down(aws.emulator.history_start, 60), aws.now, 60, PriceSettings())
        start, end = month_bounds(MONTH)
        charged = {by: run_chargeback(ledger, aws.place, by, month=MONTH) for by in ("team", "model", "endpoint")}
        reports = ReportStore(aws.client("dynamodb"), aws.table_name(None), aws.retry)
        unscanned = read_statement(ledger, reports, aws.place, "search", MONTH)  # no report stored yet
        reports.put(IDLE_REPORT, datetime(2026, 11, 20, 6, tzinfo=UTC), aws.place)
        growth = read_statement(ledger, reports, aws.place, "growth", MONTH)
        records = list(ledger.records(aws.place, start, end))
    # The service reads a month in 30 Queries: the other teams' statements come from the same records.
    covered = {"metered_from": min(r.interval_start for r in records), "metered_until": max(r.interval_end for r in records)}
    teams = [team for team, _ in charged["team"].groups]
    idle = idle_from_report(IDLE_REPORT)
    return {
        "records": records,
        "chargeback": charged,
        "statements": {team: build_statement(records, team, MONTH, **covered) for team in teams},
        "scanned": {team: build_statement(records, team, MONTH, idle=idle, **covered) for team in teams},
        "read": {"unscanned search": unscanned, "scanned growth": growth},
    }


def test_each_teams_total_is_its_chargeback_to_the_micro_dollar(ledger_figures: dict[str, Any]) -> None:
    by_team = ledger_figures["chargeback"]["team"]
    statements = ledger_figures["statements"]
    assert {t: format_money(s.total_usd) for t, s in statements.items()} == {t: format_money(c) for t, c in by_team.groups}
    assert set(statements) == {"search", "docs", "growth"}
    for statement in statements.values():  # each statement adds up three ways
        assert sum((c for _, c in statement.by_model), Decimal(0)) == statement.total_usd
        assert sum((c for _, c in statement.by_endpoint), Decimal(0)) == statement.total_usd
        assert sum((d.cost_usd or Decimal(0) for d in statement.daily), Decimal(0)) == statement.total_usd


def test_the_teams_statements_together_are_chargeback_by_model_and_by_endpoint(ledger_figures: dict[str, Any]) -> None:
    for by, rows in (("model", "by_model"), ("endpoint", "by_endpoint")):
        together: dict[str, Decimal] = {}
        for statement in ledger_figures["statements"].values():
            for key, cost in getattr(statement, rows):
                together[key] = together.get(key, Decimal(0)) + cost
        assert together == dict(ledger_figures["chargeback"][by].groups), by
    search = ledger_figures["statements"]["search"]
    assert [k for k, _ in search.by_model] == ["ic-chat", cb.UNALLOCATED]  # named as chargeback names it


def test_days_the_ledger_does_not_cover_are_not_shown_as_zero(ledger_figures: dict[str, Any]) -> None:
    daily = {d.day.day: d.cost_usd for d in ledger_figures["statements"]["growth"].daily}
    assert len(daily) == 30
    assert daily[18] is None  # before the meter began (the fleet's history starts on the 19th)
    assert (daily[19], daily[20]) == (Decimal("0.115") * 2, Decimal("0.115") * 6)
    assert daily[21] is None  # not yet metered


def test_idle_waste_counts_idle_resources_from_when_they_went_idle(ledger_figures: dict[str, Any]) -> None:
    records = ledger_figures["records"]
    went_idle = datetime(2026, 11, 19, 2, tzinfo=UTC)
    growth = build_statement(records, "growth", MONTH, idle=IdleResources({"churn-model": went_idle}, {}, "2026-11-20T06:00:00Z"))
    assert growth.idle is not None
    assert growth.idle.total_usd == Decimal("0.115") * HOURS  # idle since 02:00 on the 19th: all the ledger holds
    late = build_statement(records, "growth", MONTH, idle=IdleResources({"churn-model": went_idle + timedelta(hours=22)}))
    assert late.idle is not None
    assert late.idle.total_usd == Decimal("0.115") * 6  # idle from midnight on: the 20th's six hours
    docs = build_statement(records, "docs", MONTH, idle={"ic-summarize"})  # names alone: the whole month
    assert docs.idle is not None
    assert docs.idle.by_resource == (("genai-shared/ic-summarize", docs.total_usd),)
    assert build_statement(records, "docs", MONTH).idle is None  # no scan given: not known


def test_corrections_and_the_cost_hook_change_the_figures_they_should(ledger_figures: dict[str, Any]) -> None:
    records = ledger_figures["records"]
    first = next(r for r in records if r.inference_component_name == "ic-chat")
    correction = replace(first, cost_usd=Decimal("-0.250000"), correction=1)
    corrected = build_statement([*records, correction], "search", MONTH)
    plain = ledger_figures["statements"]["search"]
    assert (corrected.corrections.count, corrected.corrections.net_usd) == (1, Decimal("-0.25"))
    assert corrected.total_usd == plain.total_usd - Decimal("0.25")
    halved = build_statement(records, "search", MONTH, cost_of=lambda r: r.cost_usd / 2)  # e.g. an effective rate
    assert halved.total_usd * 2 == plain.total_usd
    assert dict(halved.by_model) == {k: v / 2 for k, v in plain.by_model}


# -- the page in a real browser ------------------------------------------------------------------


@pytest.fixture(scope="module")
def from_the_cli(tmp_path_factory: pytest.TempPathFactory, short_fleet: Path) -> dict[str, Any]:
    """The statement page and JSON and chargeback --by team, each a CLI run of its own on the
    fleet, all three at once."""
    folder = tmp_path_factory.mktemp("statement")
    fleet = ("--fleet", str(short_fleet))
    runs = {
        "page": spendwatch("statement", *fleet, "--month", MONTH, "--team", "search", cwd=folder),
        "json": spendwatch("statement", *fleet, "--month", MONTH, "--team", "search", "--format", "json"),
        "chargeback": spendwatch("chargeback", *fleet, "--month", MONTH, "--by", "team", "--cost", "list", "--format", "json"),
    }
    done = {name: finish(process) for name, process in runs.items()}
    for name, (status, _, err) in done.items():
        assert status == 0, f"{name}: {err}"
    return {
        "page": folder / f"statement-search-{MONTH}.html",
        "said": done["page"][1],
        "json": json.loads(done["json"][1]),
        "chargeback": json.loads(done["chargeback"][1]),
    }


def test_the_cli_statement_agrees_with_the_cli_chargeback(from_the_cli: dict[str, Any], ledger_figures: dict[str, Any]) -> None:
    statement = from_the_cli["json"]
    charged = {g["key"]: g["cost_usd"] for g in from_the_cli["chargeback"]["groups"]}
    assert statement["total_cost_usd"] == charged["search"] == format_money(SEARCH_PER_HOUR * HOURS)
    assert statement["by_model"] == [
        {"key": "ic-chat", "cost_usd": format_money(Decimal("2.876") * HOURS)},
        {"key": cb.UNALLOCATED, "cost_usd": format_money(Decimal("1.438") * HOURS)},
    ]
    expected = ledger_figures["statements"]["search"].to_json()
    assert statement == expected | {"idle_waste": statement["idle_waste"], "cost": "effective"}  # no rate known: effective = list
    assert statement["idle_waste"]["cost_usd"] == "0.000000"  # search's resources are busy: the scan ran first
    assert statement["corrections"] == {"count": 0, "net_cost_usd": "0.000000"}
    assert statement["reconciled"] is None
    assert f"written to statement-search-{MONTH}.html" in from_the_cli["said"]


class Dom(HTMLParser):
    """Every element of a serialized DOM with its ancestors, for reading figures back."""

    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.elements: list[tuple[str, dict[str, str], tuple[tuple[str, dict[str, str]], ...]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = (tag, {k: v or "" for k, v in attrs})
        self.elements.append((*element, tuple(self.stack)))
        if tag not in self.VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                return

    def by_id(self, element_id: str) -> dict[str, str]:
        (found,) = [attrs for _, attrs, _ in self.elements if attrs.get("id") == element_id]
        return found

    def within(self, element_id: str, tag: str) -> list[tuple[dict[str, str], tuple[tuple[str, dict[str, str]], ...]]]:
        return [
            (attrs, above)
            for name, attrs, above in self.elements
            if name == tag and any(a.get("id") == element_id for _, a in above)
        ]

    def rows(self, table_id: str) -> dict[str, str]:
        """``data-key`` -> the row's first ``data-usd`` (the amount), for a table's body rows."""
        found: dict[str, str] = {}
        for attrs, above in self.within(table_id, "td"):
            row = next(a for tag, a in reversed(above) if tag == "tr")
            if "data-usd" in attrs and "data-key" in row and any(tag == "tbody" for tag, _ in above):
                found.setdefault(row["data-key"], attrs["data-usd"])
        return found


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    """Headless Chromium in a session of its own; on a timeout, its whole process group goes."""
    binary = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(binary).exists():
        pytest.skip(
            "!!! NO CHROMIUM: the statement page's browser test needs it. Install it with `apt-get install -y chromium` "
            "(CI installs it) !!!"
        )
    process = subprocess.Popen(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail("chromium did not finish within 90 s")
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_page_renders_in_headless_chromium_with_chargebacks_figures(
    from_the_cli: dict[str, Any], ledger_figures: dict[str, Any], tmp_path: Path
) -> None:
    page: Path = from_the_cli["page"]
    screenshot = tmp_path / "page.png"
    shot = chromium(f"--screenshot={screenshot}", "--window-size=1200,1600", page.as_uri(), profile=tmp_path / "profile")
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.is_file()
    assert png_size(screenshot) == (1200, 1600)
    assert screenshot.stat().st_size > 30_000  # a drawn page: a blank one compresses to a few kB

    dumped = chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = Dom(dumped.stdout)
    charged = {g["key"]: g["cost_usd"] for g in from_the_cli["chargeback"]["groups"]}
    total = dom.by_id("total")
    assert "data-total" in total
    assert total["data-usd"] == charged["search"]  # the page's total is chargeback --by team's

    search_records = [r for r in ledger_figures["records"] if r.key("team") == "search"]
    start, end = month_bounds(MONTH)
    by_model = cb.from_records(search_records, "model", start, end)  # chargeback's grouping of the team's records
    assert dom.rows("by-model") == {key: format_money(cost) for key, cost in by_model.groups}
    assert dom.rows("by-endpoint") == {"genai-shared": charged["search"]}

    assert len(dom.within("daily-chart", "svg")) == 1, "no SVG chart in the DOM"
    bars = [a for a, _ in dom.within("daily-chart", "path") if "fill: #2f6690" in a.get("style", "")]
    assert len(bars) == 2  # the two metered days of the fleet's history, the 19th and the 20th
    assert dom.by_id("idle-waste")["data-known"] == "true"
    assert dom.by_id("corrections")["data-count"] == "0"
    assert dom.by_id("reconciliation")["data-bill"] == "false"
    for tag, attrs, _ in dom.elements:  # self-contained: nothing to fetch, nothing to run
        assert tag not in ("script", "link", "img", "iframe", "object")
        for name in ("src", "href", "xlink:href"):
            assert attrs.get(name, "#").startswith("#"), (tag, attrs)


def test_user_strings_are_escaped_and_the_page_is_deterministic() -> None:
    from spendwatch.cli.statement_page import render_page

    hostile = '<script>alert("x")</script>'
    when = datetime(2026, 11, 3, 5, tzinfo=UTC)
    record = CostRecord(
        region="us-east-1",
        interval_start=when,
        interval_end=when + timedelta(hours=1),
        endpoint_name="ep-1",
        variant_name="AllTraffic",
        kind=RecordKind.ENDPOINT,
        inference_component_name=None,
        model_name="$\\frac{1}{0}$ & <b>",
        instance_type="ml.m5.large",
        gpu_seconds=Decimal(0),
        core_seconds=Decimal(0),
        instance_seconds=Decimal(3600),
        cost_usd=Decimal("1.234567"),
        basis=Basis.ALLOCATION,
        price_usd_per_hour=Decimal("1.234567"),
        price_source="test",
        tags={"team": hostile},
    )
    bill = (BillComparison("ep-1", Decimal("1.30"), Decimal("1.234567")),)
    statement = build_statement([record], hostile, MONTH, reconciled=bill, metered_until=when + timedelta(hours=1))
    page = render_page(statement, "us-east-1")
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&lt;b&gt;" in page
    assert 'data-difference="0.065433"' in page
    assert render_page(statement, "us-east-1") == page  # same statement, same bytes (the SVG's ids too)


def test_matplotlib_stays_in_the_cli_and_out_of_its_start() -> None:
    for path in PACKAGE.rglob("*.py"):
        if any(name.split(".")[0] == "matplotlib" for name in imports_of(path)):
            assert path.relative_to(PACKAGE).parts[0] == "cli", path
    probe = "import sys, spendwatch.cli; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=60)


# -- the notifier on the 1st ------------------------------------------------------------------------


@pytest.fixture
def december(lambda_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The tiny fleet eleven days on: its history ends on 1 December, 06:00 UTC; a topic with a
    queue for everything and one for team docs."""
    text = TINY_FLEET.read_text().replace("2026-11-20", "2026-12-01").replace("2026-11-19", "2026-11-30")
    with wall_clock("2026-12-01T06:20:00Z"):
        for aws in run_in(json.loads(text)):
            topic = aws.client("sns").create_topic(Name="spendwatch-notifications")["TopicArn"]
            monkeypatch.setenv("SPENDWATCH_TOPIC_ARN", topic)
            queues = {}
            for name, policy in (("everything", None), ("docs", {"team": ["docs"]})):
                sqs = aws.client("sqs")
                url = sqs.create_queue(QueueName=name)["QueueUrl"]
                arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
                attributes = {"FilterPolicy": json.dumps(policy)} if policy else {}
                aws.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes)
                queues[name] = url
            yield {"aws": aws, "topic": topic, "queues": queues}


def received(setup: dict[str, Any], queue: str) -> list[dict[str, Any]]:
    sqs = setup["aws"].client("sqs")
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=setup["queues"][queue], MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            messages.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=setup["queues"][queue], ReceiptHandle=message["ReceiptHandle"])
    return messages


def kind(envelope: dict[str, Any]) -> str:
    return str(envelope["MessageAttributes"]["kind"]["Value"])


def emails(topic: str) -> list[str]:
    from moto.sns.models import sns_backends

    sent = sns_backends["123456789012"]["us-east-1"].topics[topic].sent_notifications
    return [json.loads(message)["email"] for _, message, *_ in sent]


def test_the_notifier_sends_each_teams_statement_once_on_the_first(december: dict[str, Any]) -> None:
    at = {"scheduled_time": "2026-12-01T06:15:00Z"}
    load_handler("cost_meter")({**sample_event("cost_meter"), **at}, Context())  # 30 Nov 06:00 to 1 Dec 06:00
    load_handler("idle_scan")({**sample_event("idle_scan"), "scheduled_time": "2026-12-01T06:00:00Z"}, Context())
    ledger = Ledger(december["aws"].client("dynamodb"), TABLE)
    settled = CostRecord(  # a correction settlement appended for the 30th
        region="us-east-1",
        interval_start=datetime(2026, 11, 30, 10, tzinfo=UTC),
        interval_end=datetime(2026, 11, 30, 11, tzinfo=UTC),
        endpoint_name="genai-shared",
        variant_name="AllTraffic",
        kind=RecordKind.COMPONENT,
        inference_component_name="ic-chat",
        model_name="ic-chat",
        instance_type="ml.g6.12xlarge",
        gpu_seconds=Decimal(0),
        core_seconds=Decimal(0),
        instance_seconds=Decimal(0),
        cost_usd=Decimal("0.500000"),
        basis=Basis.METRICS,
        price_usd_per_hour=Decimal("5.752"),
        price_source="test",
        tags={"team": "search", "cost-center": "cc-100"},
        correction=1,
    )
    ledger.write([settled])

    notifier = load_handler("notifier")
    first = notifier({**sample_event("notifier"), "scheduled_time": "2026-12-01T07:00:00Z"}, Context())
    assert first["statements"] == 3
    assert first["idle_digests"] == 2  # the night's digests are counted apart
    statements = [m for m in received(december, "everything") if kind(m) == "statement"]
    assert sorted(m["MessageAttributes"]["team"]["Value"] for m in statements) == ["docs", "growth", "search"]
    assert [kind(m) for m in received(december, "docs")].count("statement") == 1  # a team's subscription gets its own

    charged = dict(run_chargeback(ledger, "us-east-1", "team", month=MONTH).groups)
    search = next(e for e in emails(december["topic"]) if e.startswith("spendwatch monthly statement for team search"))
    assert f"({format_money(charged['search'])} USD)" in search  # chargeback's figure, to the micro-dollar
    assert "By model:\n- ic-chat: $" in search
    assert "By endpoint:\n- genai-shared: $" in search
    assert "Corrections: 1 correction record appended by settlement, net $0.50" in search
    assert "spendwatch statement --month 2026-11 --team search" in search
    growth = next(e for e in emails(december["topic"]) if e.startswith("spendwatch monthly statement for team growth"))
    assert "Idle waste: $" in growth  # churn-model idled on the 30th at 02:00
    assert "Idle waste: $0.00" not in growth

    again = notifier({**sample_event("notifier"), "scheduled_time": "2026-12-01T07:00:00Z"}, Context())  # a replay
    assert (again["statements"], again["sent"]) == (0, 0)
    later = notifier({**sample_event("notifier"), "scheduled_time": "2026-12-02T07:00:00Z"}, Context())  # not the 1st
    assert later["statements"] == 0
    assert [kind(m) for m in received(december, "everything")].count("statement") == 0


# -- bad input ---------------------------------------------------------------------------------------


FLEET = ("--fleet", str(TINY_FLEET))


@pytest.mark.parametrize(
    ("args", "flag", "one_line"),
    [
        (("--month", "2026-13", "--team", "search"), "--month", True),
        (("--month", "2026-12", "--team", "search"), "--month", True),  # has not begun: the fleet's now is 20 Nov
        (("--month", MONTH, "--team", "  "), "--team", True),
        (("--month", MONTH, "--team", "search", "--output", "no/such/folder/x.html"), "--output", True),
        (("--month", MONTH, "--team", "search", "--format", "pdf"), "--format", False),  # click's usage errors
        (("--month", MONTH), "'--team'", False),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(
    args: tuple[str, ...], flag: str, one_line: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through the entry point (``spendwatch.cli.main``), in process: one run of its own each
    would cost a second of imports."""
    monkeypatch.setattr(sys, "argv", ["spendwatch", "statement", *FLEET, *args])
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    assert exited.value.code == 2, err
    assert flag in err
    assert out == ""
    if one_line:
        assert len(err.strip().splitlines()) == 1, err
    assert not (REPO / f"statement-search-{MONTH}.html").exists()


def test_the_statement_reads_the_latest_stored_idle_report(ledger_figures: dict[str, Any]) -> None:
    read, scanned = ledger_figures["read"], ledger_figures["scanned"]
    assert read["unscanned search"].idle is None  # no report: the idle waste is not known
    assert read["unscanned search"] == ledger_figures["statements"]["search"]
    assert read["scanned growth"] == scanned["growth"]
    docs, growth, search = scanned["docs"].idle, scanned["growth"].idle, scanned["search"].idle
    assert docs is not None
    assert growth is not None
    assert search is not None
    assert docs.total_usd == scanned["docs"].total_usd  # no traffic in the 30 h the scan read: idle all along
    assert docs.scanned_at == "2026-11-20T06:00:00Z"
    assert growth.by_resource == (("churn-model", Decimal("0.115") * 6),)  # idle since midnight: the 20th's 6 hours
    assert search.total_usd == 0
