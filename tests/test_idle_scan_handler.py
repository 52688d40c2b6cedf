"""The nightly Lambda, run for real against moto's AWS (plus the emulated parts) with the
sample event; its EMF output is parsed and checked, its stored report read back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from spendwatch.aws.reports import ReportStore, report_pk
from spendwatch.core.errors import InputError
from spendwatch_emulator.emulator import EmulatedAws
from tests.fleets import component, endpoint, fleet, gpu_endpoint, seg
from tests.lambdas import TABLE, Context, emf_documents, run_in, sample_event
from tests.lambdas import load_handler as load_function

EVENT = sample_event("idle_scan")


def load_handler() -> Any:
    return load_function("idle_scan")


@pytest.fixture
def aws(lambda_env: None, tiny_fleet: dict[str, Any]) -> Iterator[EmulatedAws]:
    yield from run_in(tiny_fleet)


def test_sample_event_scans_stores_and_emits(aws: EmulatedAws, capsys: pytest.CaptureFixture[str]) -> None:
    summary = load_handler()(EVENT, Context())

    assert summary["stored"] is True
    assert (summary["idle_endpoints"], summary["idle_inference_components"]) == (1, 1)
    assert summary["idle_hourly_cost_usd"] == "1.553000"
    assert summary["scanned_at"] == "2026-11-20T06:00:00Z"

    docs = emf_documents(capsys.readouterr().out)
    run = next(d for d in docs if "Region" in d)
    directive = run["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Spendwatch"
    assert directive["Dimensions"] == [["Region"]]
    assert {m["Name"] for m in directive["Metrics"]} >= {"IdleEndpoints", "IdleInferenceComponents", "IdleCostPerHour"}
    assert (run["IdleEndpoints"], run["IdleInferenceComponents"], run["IdleCostPerHour"]) == (1, 1, 1.553)
    per_endpoint = {d["EndpointName"]: d for d in docs if "EndpointName" in d}
    assert set(per_endpoint) == {"churn-model", "genai-shared"}
    assert per_endpoint["genai-shared"]["IdleCostPerHour"] == 1.438
    for doc in docs:  # never finer than the endpoint, never the library's default dimensions
        for dims in doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"]:
            assert set(dims) <= {"Region", "EndpointName"}

    stored = ReportStore(aws.client("dynamodb"), TABLE).latest("us-east-1")
    assert stored is not None
    assert {e["endpoint_name"]: e["status"] for e in stored["endpoints"]} == {"churn-model": "idle", "genai-shared": "active"}


def test_a_replayed_schedule_stores_and_emits_nothing_new(aws: EmulatedAws, capsys: pytest.CaptureFixture[str]) -> None:
    handler = load_handler()
    first = handler(EVENT, Context())
    assert emf_documents(capsys.readouterr().out) != []
    second = handler(EVENT, Context())
    assert emf_documents(capsys.readouterr().out) == []
    assert (first["stored"], second["stored"]) == (True, False)
    items = aws.client("dynamodb").query(
        TableName=TABLE, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": report_pk("us-east-1")}}
    )["Items"]
    assert len(items) == 1


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"source": "spendwatch.schedule", "task": "idle-scan"}, "event.scheduled_time"),
        ({"task": "idle-scan", "scheduled_time": "2026-11-20 06:00"}, "event.scheduled_time"),
        ({"task": "meter", "scheduled_time": "2026-11-20T06:00:00Z"}, "event.task"),
        ({"scheduled_time": "2026-11-20T06:00:00Z", "lookback_hours": 0}, "event.lookback_hours"),
    ],
)
def test_malformed_event_names_the_field_and_writes_nothing(aws: EmulatedAws, event: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as caught:
        load_handler()(event, Context())
    assert caught.value.field == field
    assert aws.client("dynamodb").scan(TableName=TABLE)["Count"] == 0


def test_bad_configuration_names_the_variable(aws: EmulatedAws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPENDWATCH_LOOKBACK_HOURS", "a day")
    with pytest.raises(InputError) as caught:
        load_handler()(EVENT, Context())
    assert caught.value.field == "SPENDWATCH_LOOKBACK_HOURS"


def test_event_lookback_overrides_configuration(aws: EmulatedAws) -> None:
    summary = load_handler()({**EVENT, "lookback_hours": 30}, Context())
    assert summary["idle_endpoints"] == 0  # churn-model's traffic at 00:00-02:00 is inside 30 h


def test_prices_from_ssm_parameter(aws: EmulatedAws, monkeypatch: pytest.MonkeyPatch) -> None:
    aws.client("ssm").put_parameter(
        Name="/spendwatch/prices",
        Type="String",
        Value=json.dumps({"prices_usd_per_hour": {"us-east-1": {"ml.m5.large": "0.2"}}}),
    )
    monkeypatch.setenv("SPENDWATCH_PRICES_PARAMETER", "/spendwatch/prices")
    summary = load_handler()(EVENT, Context())
    # churn-model at the parameter's 0.2 instead of the built-in 0.115, plus ic-summarize's 1.438
    assert summary["idle_hourly_cost_usd"] == "1.638000"


def test_large_report_is_split_into_parts_and_reads_back_whole(lambda_env: None) -> None:
    doc = fleet(
        *(
            gpu_endpoint(
                f"shared-endpoint-with-a-long-name-{i:04d}",
                [component(f"ic-component-with-a-long-name-{i:04d}")],
                tags={"team": f"team-{i % 37}", "cost-center": f"cc-{i:05d}", "project": f"project-{i:05d}"},
            )
            for i in range(400)
        ),
        endpoint("busy", traffic=[seg("2026-11-20T00:00:00Z", "2026-11-20T01:00:00Z")]),
    )
    for emulator in run_in(doc):
        stored = ReportStore(emulator.client("dynamodb"), TABLE)
        summary = load_handler()(EVENT, Context())
        assert summary["idle_endpoints"] == 400
        whole = stored.latest("us-east-1")
        assert whole is not None
        assert len(whole["endpoints"]) == 401


def test_report_larger_than_an_item_is_stored_in_parts_head_last(aws: EmulatedAws) -> None:
    client = aws.client("dynamodb")
    report = {
        "summary": {},
        "lookback_hours": 24,
        "endpoints": [{"endpoint_name": f"e-{i}", "note": str(i) * 50} for i in range(400)],
    }
    store = ReportStore(client, TABLE, part_bytes=2_000)
    scanned_at = datetime(2026, 11, 20, 6, tzinfo=UTC)
    first = store.put(report, scanned_at, "us-east-1")
    assert first.created
    assert first.parts > 1
    assert store.latest("us-east-1") == report
    again = store.put(report, scanned_at, "us-east-1")
    assert (again.created, client.scan(TableName=TABLE)["Count"]) == (False, first.parts)
