"""The ledger at the edges of time: every second of every resource charged once, at the right
price, or a finding that says why not. Each test names a way the ledger used to be wrong."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from spendwatch.aws.ledger import Ledger
from spendwatch.core.errors import InputError
from spendwatch.core.metering import Basis, RecordKind
from spendwatch.services.chargeback import run_chargeback
from spendwatch.services.meter import meter_as_scheduled, run_meter, settle_day
from spendwatch.services.prices import PriceSettings
from spendwatch_emulator import LEDGER_TABLE
from spendwatch_emulator.emulator import EmulatedAws
from tests.conftest import REPO, emulated
from tests.fleets import component, endpoint, fleet, gpu_endpoint
from tests.lambdas import TABLE, Context, load_handler, run_in, wall_clock

NOW = datetime(2026, 11, 20, 6, tzinfo=UTC)
PRICES = {"ml.g6.12xlarge": "5.752", "ml.m5.large": "0.115"}


def t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def meter_history(doc: dict[str, Any], start: datetime, end: datetime = NOW) -> Any:
    with emulated(doc) as aws:
        ledger = Ledger(aws.client("dynamodb"), LEDGER_TABLE, aws.retry)
        return meter_as_scheduled(aws, ledger, start, end, 60, PriceSettings())


def cost_of(records: list[Any], name: str) -> Decimal:
    return sum((r.cost_usd for r in records if name in (r.endpoint_name, r.inference_component_name)), Decimal(0))


def spendwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spendwatch.cli", *args], capture_output=True, text=True, timeout=300, check=False
    )


# -- existence -----------------------------------------------------------------------------------


def test_allocation_charges_from_creation_not_from_the_start_of_the_range() -> None:
    """Created at 04:00, metered from the previous morning: 2 hours, not 24."""
    doc = fleet(endpoint("late", created_at="2026-11-20T04:00:00Z"), prices_usd_per_hour=PRICES)
    run = meter_history(doc, NOW - timedelta(hours=24))
    assert cost_of(run.records, "late") == Decimal("0.115") * 2
    assert min(r.interval_start for r in run.records) == t("2026-11-20T04:00:00Z")
    assert all(r.basis is Basis.ALLOCATION for r in run.records)


def test_a_component_created_mid_interval_is_charged_for_its_seconds_only() -> None:
    doc = fleet(
        gpu_endpoint("shared", [component("ic-new", accelerators=1, created_at="2026-11-20T05:30:00Z")]),
        prices_usd_per_hour=PRICES,
    )
    run = meter_history(doc, NOW - timedelta(hours=1))
    (ic,) = [r for r in run.records if r.inference_component_name == "ic-new"]
    assert ic.gpu_seconds == 1800
    assert ic.cost_usd == Decimal("0.719000")  # half an hour of one of four GPUs at 5.752/h
    assert sum(r.cost_usd for r in run.records) == Decimal("5.752")  # the rest is unallocated, exactly


def test_a_deleted_endpoint_is_charged_until_the_second_it_was_deleted() -> None:
    doc = fleet(endpoint("gone", deleted_at="2026-11-20T03:20:00Z"), endpoint("stays"), prices_usd_per_hour=PRICES)
    run = meter_history(doc, NOW - timedelta(hours=6))
    gone = [r for r in run.records if r.endpoint_name == "gone"]
    assert max(r.interval_end for r in gone) == t("2026-11-20T04:00:00Z")
    assert sum(r.instance_seconds for r in gone) == 3 * 3600 + 20 * 60
    assert cost_of(run.records, "gone") == Decimal("0.115") * 3 + Decimal("0.038333")
    assert run.deleted == 1
    assert cost_of(run.records, "stays") == Decimal("0.115") * 6


def test_a_deleted_component_is_charged_until_its_deletion_and_its_gpus_fall_back_to_unallocated() -> None:
    doc = fleet(
        gpu_endpoint(
            "shared",
            [component("ic-a", accelerators=2), component("ic-b", accelerators=1, deleted_at="2026-11-20T05:15:00Z")],
        ),
        prices_usd_per_hour=PRICES,
    )
    run = meter_history(doc, NOW - timedelta(hours=2))
    last_hour = [r for r in run.records if r.interval_start == t("2026-11-20T05:00:00Z")]
    b = next(r for r in last_hour if r.inference_component_name == "ic-b")
    assert b.gpu_seconds == 15 * 60
    assert sum(r.cost_usd for r in last_hour) == Decimal("5.752")


def test_nothing_is_charged_for_an_endpoint_deleted_before_the_range() -> None:
    doc = fleet(endpoint("old", deleted_at="2026-11-19T01:00:00Z"), prices_usd_per_hour=PRICES)
    run = meter_history(doc, NOW - timedelta(hours=3))
    assert run.records == []


# -- only the past ------------------------------------------------------------------------------


def test_meter_refuses_an_interval_that_has_not_ended() -> None:
    doc = fleet(endpoint("ep"), prices_usd_per_hour=PRICES)
    with emulated(doc) as aws:
        ledger = Ledger(aws.client("dynamodb"), LEDGER_TABLE, aws.retry)
        with pytest.raises(InputError) as caught:
            run_meter(aws, ledger, NOW, NOW + timedelta(hours=1), 60, PriceSettings())
        assert caught.value.field == "--end"
        assert aws.client("dynamodb").scan(TableName=LEDGER_TABLE)["Items"] == []


def test_the_cli_refuses_future_intervals_with_exit_2_naming_the_flag(tmp_path: Path) -> None:
    tiny = str(REPO / "fleets" / "tiny-fleet.json")
    result = spendwatch("meter", "--fleet", tiny, "--start", "2026-11-20T05:00:00Z", "--end", "2026-11-20T07:00:00Z")
    assert result.returncode == 2, result.stderr
    assert "--end" in result.stderr
    assert "Traceback" not in result.stderr


# -- no silent zero -----------------------------------------------------------------------------


def test_missing_enhanced_samples_are_charged_by_allocation_with_a_finding() -> None:
    gaps = {"enhanced": True, "publish_frequency_s": 10, "gaps": [{"from": "2026-11-20T04:20:00Z", "to": "2026-11-20T04:40:00Z"}]}
    doc = fleet(gpu_endpoint("shared", [component("ic", accelerators=2)], metrics=gaps), prices_usd_per_hour=PRICES)
    run = meter_history(doc, NOW - timedelta(hours=3))
    by_hour = {}
    for r in run.records:
        by_hour.setdefault(r.interval_start, []).append(r)
    gapped = by_hour[t("2026-11-20T04:00:00Z")]
    assert {r.basis for r in gapped} == {Basis.ALLOCATION}
    assert next(r for r in gapped if r.inference_component_name == "ic").cost_usd == Decimal("2.876")
    assert {r.basis for r in by_hour[t("2026-11-20T05:00:00Z")]} == {Basis.METRICS}
    assert all(sum(r.cost_usd for r in hour) == Decimal("5.752") for hour in by_hour.values())
    assert any(f.kind == "metrics-missing" and f.endpoint_name == "shared" for f in run.findings)


# -- time input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("month", ["2026-1", "2026-13", "26-11", "2026-11-01", "november"])
def test_chargeback_month_must_be_exactly_yyyy_mm(month: str) -> None:
    result = spendwatch("chargeback", "--fleet", str(REPO / "fleets" / "tiny-fleet.json"), "--month", month)
    assert result.returncode == 2, result.stderr
    assert "--month" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_chargeback_range_off_the_interval_grid_is_refused_naming_the_nearest_boundaries() -> None:
    result = spendwatch(
        "chargeback",
        "--fleet",
        str(REPO / "fleets" / "tiny-fleet.json"),
        "--start",
        "2026-11-19T05:30:00Z",
        "--end",
        "2026-11-20T05:00:00Z",
    )
    assert result.returncode == 2, result.stderr
    assert "--start" in result.stderr
    assert "2026-11-19T05:00:00Z" in result.stderr
    assert "2026-11-19T06:00:00Z" in result.stderr


def test_ranges_are_bounded() -> None:
    doc = fleet(endpoint("ep"), prices_usd_per_hour=PRICES)
    with emulated(doc) as aws:
        ledger = Ledger(aws.client("dynamodb"), LEDGER_TABLE, aws.retry)
        with pytest.raises(InputError) as caught:
            run_chargeback(ledger, aws.region, "team", start=NOW - timedelta(days=401), end=NOW)
        assert caught.value.field == "--end"


# -- the Lambda: settle delay, event times, prices ------------------------------------------------


@pytest.fixture
def fresh_price_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The Price List API cache lives in the Lambda's /tmp: each test starts cold."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def ledger_items(aws: EmulatedAws) -> list[dict[str, Any]]:
    items = aws.client("dynamodb").scan(TableName=TABLE)["Items"]
    kept = [i for i in items if i["pk"]["S"].startswith(("REC#", "ROLLUP#"))]
    return sorted(kept, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def event(at: str) -> dict[str, Any]:
    return {"source": "spendwatch.schedule", "task": "meter", "scheduled_time": at}


def test_the_lambda_refuses_an_event_from_the_future_before_writing(lambda_env: None, tiny_fleet: dict[str, Any]) -> None:
    with wall_clock("2026-11-20T06:20:00Z"):
        for aws in run_in(tiny_fleet):
            with pytest.raises(InputError) as caught:
                load_handler("cost_meter")(event("2026-11-20T07:15:00Z"), Context())
            assert caught.value.field == "event.scheduled_time"
            assert aws.client("dynamodb").scan(TableName=TABLE)["Items"] == []


def test_the_lambda_refuses_an_event_older_than_the_metrics(lambda_env: None, tiny_fleet: dict[str, Any]) -> None:
    with wall_clock("2028-03-01T00:00:00Z"):
        for aws in run_in(tiny_fleet):
            with pytest.raises(InputError) as caught:
                load_handler("cost_meter")(event("2026-11-20T06:15:00Z"), Context())
            assert "older than CloudWatch keeps" in caught.value.message
            assert aws.client("dynamodb").scan(TableName=TABLE)["Items"] == []


def test_the_lambda_waits_the_settle_delay(lambda_env: None, tiny_fleet: dict[str, Any]) -> None:
    with wall_clock("2026-11-20T06:06:00Z"):
        for _ in run_in(tiny_fleet):
            summary = load_handler("cost_meter")(event("2026-11-20T06:05:00Z"), Context())
    assert summary["to"] == "2026-11-20T05:00:00Z"  # 05:00-06:00 ended 5 minutes ago: not yet settled


def test_intervals_older_than_two_weeks_are_metered_without_emf(
    lambda_env: None, tiny_fleet: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SPENDWATCH_METER_BACKFILL_HOURS", "2")
    with wall_clock("2026-12-10T00:00:00Z"):
        for _ in run_in(tiny_fleet):
            summary = load_handler("cost_meter")(event("2026-11-20T06:15:00Z"), Context())
    assert summary["intervals"] == 2
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert not [d for d in docs if "_aws" in d and "MeteredIntervals" in d]


def outage(session: boto3.Session, operation: str) -> Any:
    """The Price List API failing, as AWS would answer: HTTP 503 at the call."""

    def fail(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        body = {"Error": {"Code": "ServiceUnavailableException", "Message": "Price List API unavailable"}}
        return AWSResponse("https://api.pricing.us-east-1.amazonaws.com", 503, {}, None), {
            **body,
            "ResponseMetadata": {"HTTPStatusCode": 503},
        }

    events = session._session.get_component("event_emitter")
    events.register_first(f"before-call.pricing.{operation}", fail)
    return lambda: events.unregister(f"before-call.pricing.{operation}", fail)


# g6e.2xlarge is in no built-in table: only the Price List API (the emulated one serves the
# fleet's prices) can price it.
OUTAGE_FLEET = fleet(
    endpoint("ranker", instance_type="ml.g6e.2xlarge", created_at="2026-11-01T00:00:00Z"),
    endpoint("cheap", created_at="2026-11-01T00:00:00Z"),
    prices_usd_per_hour={"ml.g6e.2xlarge": "2.24", "ml.m5.large": "0.115"},
)
RUNS = ["2026-11-20T03:15:00Z", "2026-11-20T04:15:00Z", "2026-11-20T05:15:00Z", "2026-11-20T06:15:00Z"]


def run_hours(monkeypatch: pytest.MonkeyPatch, failing_runs: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    monkeypatch.setenv("SPENDWATCH_REFRESH_PRICES", "true")
    monkeypatch.setenv("SPENDWATCH_METER_BACKFILL_HOURS", "3")
    summaries = []
    with wall_clock("2026-11-20T06:20:00Z"):
        for aws in run_in(OUTAGE_FLEET):
            for index, at in enumerate(RUNS):
                restore = outage(boto3.DEFAULT_SESSION, "GetProducts") if index < failing_runs else None
                try:
                    summaries.append(load_handler("cost_meter")(event(at), Context()))
                finally:
                    if restore:
                        restore()
            items = ledger_items(aws)
    return summaries, items


def test_a_price_outage_holds_the_meter_and_the_ledger_ends_as_if_it_never_failed(
    lambda_env: None, fresh_price_cache: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    held, after_outage = run_hours(monkeypatch, failing_runs=3)
    assert [s["held_at"] for s in held[:3]] == ["2026-11-20T00:00:00Z"] * 3  # never past the first unpriced hour
    assert [s["intervals"] for s in held] == [0, 0, 0, 6]
    assert all(s["unpriced_resources"] == 2 for s in held[:3])  # the API priced both types: both wait
    _, never_failed = run_hours(monkeypatch, failing_runs=0)
    assert after_outage == never_failed
    assert len(after_outage) > 0


def test_a_last_known_price_stands_in_and_says_so(
    lambda_env: None, fresh_price_cache: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPENDWATCH_REFRESH_PRICES", "true")
    monkeypatch.setenv("SPENDWATCH_METER_BACKFILL_HOURS", "1")
    with wall_clock("2026-11-20T06:20:00Z"):
        for aws in run_in(OUTAGE_FLEET):
            load_handler("cost_meter")(event("2026-11-20T05:15:00Z"), Context())
            for cached in Path(tempfile.gettempdir()).glob("spendwatch-prices*.json"):
                cached.unlink()  # a cold start: only the table remembers the price
            restore = outage(boto3.DEFAULT_SESSION, "GetProducts")
            try:
                summary = load_handler("cost_meter")(event("2026-11-20T06:15:00Z"), Context())
            finally:
                restore()
            records = list(Ledger(aws.client("dynamodb"), TABLE).records("us-east-1", NOW - timedelta(hours=1), NOW))
    assert summary["intervals"] == 1
    assert summary["held_at"] is None
    ranker = next(r for r in records if r.endpoint_name == "ranker")
    assert ranker.cost_usd == Decimal("2.24")
    assert ranker.price_source.startswith("last known: AWS Price List API")
    assert "as of 2026-11-20" in ranker.price_source


# -- corrections, never rewrites --------------------------------------------------------------------


def test_settle_appends_a_correction_for_a_changed_price_and_a_second_settle_appends_nothing(tmp_path: Path) -> None:
    doc = fleet(endpoint("ep", created_at="2026-11-01T00:00:00Z"), prices_usd_per_hour=PRICES, now="2026-11-20T06:00:00Z")
    day = t("2026-11-19T00:00:00Z")
    override = tmp_path / "prices.json"
    with emulated({**doc, "prices_usd_per_hour": {}}) as aws:
        ledger = Ledger(aws.client("dynamodb"), LEDGER_TABLE, aws.retry)
        run_meter(aws, ledger, day, day + timedelta(days=1), 60, PriceSettings())
        before = run_chargeback(ledger, aws.region, "endpoint", month="2026-11").total
        override.write_text(json.dumps({"prices_usd_per_hour": {"us-east-1": {"ml.m5.large": "0.125"}}}))
        first = settle_day(aws, ledger, day, 60, PriceSettings(price_file=override))
        second = settle_day(aws, ledger, day, 60, PriceSettings(price_file=override))
        after = run_chargeback(ledger, aws.region, "endpoint", month="2026-11").total
        records = list(ledger.records(aws.region, day, day + timedelta(days=1)))
    assert len(first.corrections) == 24
    assert all(c.correction == 1 and c.cost_usd == Decimal("0.010") for c in first.corrections)
    assert second.corrections == []
    assert second.added == []
    assert after == Decimal("0.125") * 24  # what a fresh meter at the new price says, exactly
    assert after - before == Decimal("0.010") * 24
    originals = [r for r in records if not r.correction]
    assert len(originals) == 24  # never rewritten:
    assert all(r.cost_usd == Decimal("0.115") for r in originals)


def test_the_cli_settles_a_day(tmp_path: Path) -> None:
    result = spendwatch("settle", "--fleet", str(REPO / "fleets" / "tiny-fleet.json"), "--day", "2026-11-19", "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["day"] == "2026-11-19"
    assert document["corrections"] == []  # the emulated data was final when metered
    bad = spendwatch("settle", "--fleet", str(REPO / "fleets" / "tiny-fleet.json"), "--day", "2026-11-20")
    assert bad.returncode == 2  # the day has not ended
    assert "--end" in bad.stderr


def test_late_samples_become_a_correction_and_totals_equal_a_fresh_meter() -> None:
    """Metered while CloudWatch lacked 20 minutes of samples (allocation), settled once they
    arrived: the correction makes the ledger equal a fresh meter of the final data."""
    gap = {"from": "2026-11-19T10:20:00Z", "to": "2026-11-19T10:40:00Z"}
    shared = gpu_endpoint(
        "shared",
        [component("ic", accelerators=2, copies=[{"from": "2026-11-01T00:00:00Z", "count": 1}, {"from": "2026-11-19T10:30:00Z", "count": 0}])],  # noqa: E501
        metrics={"enhanced": True, "publish_frequency_s": 10, "gaps": [gap]},
    )
    day = t("2026-11-19T00:00:00Z")
    lacking = fleet(shared, prices_usd_per_hour=PRICES)
    final = fleet({**shared, "metrics": {"enhanced": True, "publish_frequency_s": 10}}, prices_usd_per_hour=PRICES)
    with emulated(lacking) as aws:
        ledger = Ledger(aws.client("dynamodb"), LEDGER_TABLE, aws.retry)
        run_meter(aws, ledger, day, day + timedelta(days=1), 60, PriceSettings())
        items = aws.client("dynamodb").scan(TableName=LEDGER_TABLE)["Items"]
    with emulated(final) as aws:
        client = aws.client("dynamodb")
        for item in items:
            client.put_item(TableName=LEDGER_TABLE, Item=item)
        ledger = Ledger(client, LEDGER_TABLE, aws.retry)
        settled = settle_day(aws, ledger, day, 60, PriceSettings())
        again = settle_day(aws, ledger, day, 60, PriceSettings())
        ic_total = run_chargeback(ledger, aws.region, "component", month="2026-11")
    with emulated(final) as aws:
        clean = Ledger(aws.client("dynamodb"), LEDGER_TABLE, aws.retry)
        fresh = run_meter(aws, clean, day, day + timedelta(days=1), 60, PriceSettings())
    assert settled.corrections
    assert not again.corrections
    assert {c.interval_start for c in settled.corrections} == {t("2026-11-19T10:00:00Z")}
    assert ic_total.total == sum(r.cost_usd for r in fresh.records)
    groups = dict(ic_total.groups)
    assert groups["ic"] == sum(r.cost_usd for r in fresh.records if r.kind is RecordKind.COMPONENT)



def fail_once(session: boto3.Session, event_name: str) -> None:
    """The next call of ``event_name`` dies as a Lambda killed mid-run would leave it."""
    events = session._session.get_component("event_emitter")

    def boom(**_: Any) -> None:
        events.unregister(event_name, boom)
        raise RuntimeError("killed")

    events.register_first(event_name, boom)


def test_a_run_killed_mid_way_leaves_the_ledger_as_a_clean_run_would(lambda_env: None, tiny_fleet: dict[str, Any]) -> None:
    """Killed after writing an interval's records but before recording its progress: the
    next run writes that interval again, and the ledger and every rollup end as if nothing
    had happened."""
    with wall_clock("2026-11-20T06:20:00Z"):
        for aws in run_in(tiny_fleet):
            fail_once(boto3.DEFAULT_SESSION, "before-call.dynamodb.UpdateItem")
            with pytest.raises(RuntimeError, match="killed"):
                load_handler("cost_meter")(event("2026-11-20T06:15:00Z"), Context())
            resumed = load_handler("cost_meter")(event("2026-11-20T06:15:00Z"), Context())
            killed = ledger_items(aws)
        for aws in run_in(tiny_fleet):
            load_handler("cost_meter")(event("2026-11-20T06:15:00Z"), Context())
            clean = ledger_items(aws)
    assert resumed["records_already_in_ledger"] == 4  # the first hour's records, written before the kill
    assert killed == clean


def test_the_lambda_settles_yesterday_once_when_it_is_wholly_metered(
    lambda_env: None, tiny_fleet: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPENDWATCH_METER_BACKFILL_HOURS", "30")  # from 2026-11-19T00:00Z: all of yesterday
    with wall_clock("2026-11-20T06:20:00Z"):
        for aws in run_in(tiny_fleet):
            first = load_handler("cost_meter")(event("2026-11-20T06:15:00Z"), Context())
            before = ledger_items(aws)
            second = load_handler("cost_meter")(event("2026-11-20T06:15:00Z"), Context())
            assert ledger_items(aws) == before
    assert first["settled"] == {"day": "2026-11-19", "corrections": 0, "added": 0, "difference_usd": "0.000000"}
    assert second["settled"] is None  # once a day
