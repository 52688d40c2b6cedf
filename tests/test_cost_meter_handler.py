"""The hourly meter Lambda against moto's AWS: catches up, shrugs off duplicates, stops
before its deadline and resumes, and emits the cluster view as EMF."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from spendwatch.aws.ledger import Ledger
from spendwatch.core.errors import InputError
from spendwatch.services.chargeback import run_chargeback
from spendwatch_emulator.emulator import EmulatedAws
from tests.lambdas import TABLE, Context, emf_documents, load_handler, run_in, sample_event, wall_clock
from tests.template import resource

EVENT = sample_event("cost_meter")  # scheduled 2026-11-20T06:15:00Z: the hour to 06:00 has settled


def at(time: str) -> dict[str, Any]:
    return {**EVENT, "scheduled_time": time}


@pytest.fixture
def aws(lambda_env: None, tiny_fleet: dict[str, Any]) -> Iterator[EmulatedAws]:
    with wall_clock("2026-11-20T06:20:00Z"):  # the Lambda runs minutes after its schedule, as in AWS
        yield from run_in(tiny_fleet)


def ledger_items(aws: EmulatedAws) -> list[dict[str, Any]]:
    items = aws.client("dynamodb").scan(TableName=TABLE)["Items"]
    return sorted((i for i in items if not i["pk"]["S"].startswith("STATE#")), key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def month_total(aws: EmulatedAws) -> Decimal:
    return run_chargeback(Ledger(aws.client("dynamodb"), TABLE), "us-east-1", "team", month="2026-11").total


def test_first_run_backfills_then_a_duplicate_delivery_does_nothing(aws: EmulatedAws) -> None:
    handler = load_handler("cost_meter")
    first = handler(EVENT, Context())
    assert (first["intervals"], first["from"], first["to"]) == (24, "2026-11-19T06:00:00Z", "2026-11-20T06:00:00Z")
    assert first["records_written"] == 24 * 4
    assert first["cost_usd"] == str(Decimal("5.867") * 24) + "000"
    before = ledger_items(aws)
    second = handler(EVENT, Context())
    assert (second["intervals"], second["records_written"]) == (0, 0)
    assert ledger_items(aws) == before


def test_a_missed_run_is_caught_up(aws: EmulatedAws) -> None:
    handler = load_handler("cost_meter")
    handler(at("2026-11-20T03:15:00Z"), Context())
    caught_up = handler(at("2026-11-20T06:15:00Z"), Context())
    assert (caught_up["from"], caught_up["intervals"]) == ("2026-11-20T03:00:00Z", 3)
    assert month_total(aws) == Decimal("5.867") * (24 + 3)  # the first run's backfill, then the gap


def test_a_run_near_its_deadline_stops_cleanly_and_the_next_resumes(aws: EmulatedAws, monkeypatch: pytest.MonkeyPatch) -> None:
    handler = load_handler("cost_meter")

    class Dwindling(Context):
        """Plenty of time for three intervals, then under the margin."""

        calls = 0

        def get_remaining_time_in_millis(self) -> int:
            Dwindling.calls += 1
            return 900_000 if Dwindling.calls <= 3 else 1_000

    stopped = handler(EVENT, Dwindling())
    assert (stopped["stopped_early"], stopped["intervals"], stopped["metered_until"]) == (True, 3, "2026-11-19T09:00:00Z")
    resumed = handler(EVENT, Context())
    assert (resumed["from"], resumed["intervals"], resumed["stopped_early"]) == ("2026-11-19T09:00:00Z", 21, False)
    assert month_total(aws) == Decimal("5.867") * 24


def test_emf_gives_the_cluster_and_per_model_views(
    aws: EmulatedAws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SPENDWATCH_METER_BACKFILL_HOURS", "1")
    load_handler("cost_meter")(EVENT, Context())
    docs = emf_documents(capsys.readouterr().out)
    components = {d["InferenceComponentName"]: d for d in docs if "InferenceComponentName" in d}
    assert components["ic-chat"]["ComponentCost"] == 2.876
    assert components["ic-chat"]["GPUsHeld"] == 2
    assert components["ic-chat"]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["EndpointName", "InferenceComponentName"]]
    endpoint = next(d for d in docs if d.get("EndpointName") == "genai-shared" and "InferenceComponentName" not in d)
    assert (endpoint["GPUsUsed"], endpoint["GPUsFree"], endpoint["UnallocatedCost"], endpoint["EndpointCost"]) == (
        3,
        1,
        1.438,
        5.752,
    )
    region = next(d for d in docs if "Region" in d)
    assert (region["MeteredIntervals"], region["GPUsFree"]) == (1, 1)
    assert region["_aws"]["Timestamp"] == 1795150800000  # the interval's start, 05:00Z


def test_bad_interval_setting_names_the_variable(aws: EmulatedAws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPENDWATCH_INTERVAL_MINUTES", "7")
    with pytest.raises(InputError) as caught:
        load_handler("cost_meter")(EVENT, Context())
    assert caught.value.field == "SPENDWATCH_INTERVAL_MINUTES"
    assert ledger_items(aws) == []


def test_malformed_event_names_the_field(aws: EmulatedAws) -> None:
    with pytest.raises(InputError) as caught:
        load_handler("cost_meter")({"task": "meter", "scheduled_time": 1700000000}, Context())
    assert caught.value.field == "event.scheduled_time"


def test_the_meter_function_runs_alone() -> None:
    # one meter at a time per account region: alone in a single account, one per target under the fan-out
    concurrency = {"Fn::If": ["IsOrganization", {"Ref": "FanOutConcurrency"}, 1]}
    assert resource("CostMeterFunction")["Properties"]["ReservedConcurrentExecutions"] == concurrency
