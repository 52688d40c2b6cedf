"""The remediation Lambda, run for real (functions/remediate/app.py) against the emulated AWS,
after the real nightly scan stored its report: Remediation report changes nothing, apply acts
on each idle resource once, across a replayed delivery too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from spendwatch.aws.actions import ActionLog
from spendwatch.core.errors import InputError
from spendwatch.core.remediation import ActionStatus
from spendwatch_emulator.emulator import EmulatedAws
from tests.fleets import component, endpoint, fleet, gpu_endpoint, seg
from tests.lambdas import TABLE, Context, emf_documents, load_handler, run_in, sample_event

EVENT = sample_event("remediate")
CHANGES = {"UpdateInferenceComponentRuntimeConfig", "CreateEndpointConfig", "UpdateEndpoint", "DeleteEndpoint"}
FLEET = fleet(
    gpu_endpoint(
        "shared",
        [
            component("ic-busy", traffic=[seg("2026-11-10T00:00:00Z", "2026-11-20T06:00:00Z")]),
            component("ic-quiet", tags={"team": "docs"}),
        ],
    ),
    endpoint("churn", tags={"team": "growth"}),
    endpoint("recent", traffic=[seg("2026-11-17T00:00:00Z", "2026-11-17T01:00:00Z")]),  # idle 3 nights: too few
    endpoint("busy", traffic=[seg("2026-11-19T00:00:00Z", "2026-11-20T06:00:00Z")]),
    history_hours=240,
)


@pytest.fixture
def aws(lambda_env: None) -> Iterator[EmulatedAws]:
    for emulator in run_in(FLEET):
        load_handler("idle_scan")(sample_event("idle_scan"), Context())  # tonight's report, stored
        yield emulator


def changes(aws: EmulatedAws) -> int:
    return sum(n for op, n in aws.calls.items() if op in CHANGES)


def remediate(event: dict[str, Any] | None = None) -> dict[str, Any]:
    summary: dict[str, Any] = load_handler("remediate")(event or EVENT, Context())
    return summary


def test_report_mode_plans_and_changes_nothing(aws: EmulatedAws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPENDWATCH_REMEDIATION", "report")
    summary = remediate()
    assert (summary["mode"], summary["dry_run"], summary["done"]) == ("report", True, 0)
    assert {(a["action"], a["endpoint_name"], a["inference_component_name"]) for a in summary["actions"]} == {
        ("scale-component-to-zero", "shared", "ic-quiet"),
        ("delete-endpoint", "churn", None),
    }
    assert changes(aws) == 0
    assert ActionLog(aws.client("dynamodb"), TABLE).records("us-east-1") == []


def test_apply_acts_once_across_a_replayed_delivery(
    aws: EmulatedAws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SPENDWATCH_REMEDIATION", "apply")
    capsys.readouterr()
    summary = remediate()
    (metrics,) = [d for d in emf_documents(capsys.readouterr().out) if "RemediationActions" in d]
    assert (metrics["RemediationActions"], metrics["RemediationFailedActions"]) == (2, 0)
    assert metrics["RemediationMonthlySavingUsd"] == 1133.69
    assert metrics["Region"] == "us-east-1"
    assert (summary["dry_run"], summary["planned"], summary["done"]) == (False, 2, 2)
    assert summary["monthly_saving_usd"] == "1133.690000"  # (1.438 + 0.115) x 730
    assert summary["idle_nights"] == 7
    acted = changes(aws)
    assert acted == 2
    replay = remediate()  # the schedule delivered the same event again
    assert (replay["planned"], replay["done"]) == (0, 0)
    (again,) = [d for d in emf_documents(capsys.readouterr().out) if "RemediationActions" in d]
    assert (again["RemediationActions"], again["RemediationMonthlySavingUsd"]) == (0, 0)  # nothing counted twice
    assert changes(aws) == acted
    records = ActionLog(aws.client("dynamodb"), TABLE).records("us-east-1")
    assert {(r.name, r.status) for r in records} == {("ic-quiet", ActionStatus.DONE), ("churn", ActionStatus.DONE)}
    sagemaker = aws.client("sagemaker")
    assert sagemaker.describe_inference_component(InferenceComponentName="ic-quiet")["RuntimeConfig"]["CurrentCopyCount"] == 0
    assert {e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]} == {"busy", "recent", "shared"}


def test_the_grace_comes_from_the_stack(aws: EmulatedAws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPENDWATCH_REMEDIATION", "apply")
    monkeypatch.setenv("SPENDWATCH_REMEDIATION_IDLE_NIGHTS", "2")
    summary = remediate()
    assert {a["endpoint_name"] for a in summary["actions"] if a["action"] == "delete-endpoint"} == {"churn", "recent"}


def test_no_report_of_tonight_means_no_action(aws: EmulatedAws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPENDWATCH_REMEDIATION", "apply")
    two_days_later = {**EVENT, "scheduled_time": "2026-11-22T06:15:00Z"}
    summary = remediate(two_days_later)
    assert summary["actions"] == []
    assert summary["reason"] == "the latest idle report (2026-11-20T06:00:00Z) is not tonight's"
    assert changes(aws) == 0


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("SPENDWATCH_REMEDIATION", "yes", "SPENDWATCH_REMEDIATION"),
        ("SPENDWATCH_REMEDIATION_IDLE_NIGHTS", "0", "SPENDWATCH_REMEDIATION_IDLE_NIGHTS"),
        ("SPENDWATCH_REMEDIATION_IDLE_NIGHTS", "a week", "SPENDWATCH_REMEDIATION_IDLE_NIGHTS"),
    ],
)
def test_a_bad_setting_fails_naming_it_before_anything(
    aws: EmulatedAws, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, field: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(InputError) as caught:
        remediate()
    assert caught.value.field == field
    assert changes(aws) == 0


def test_an_event_for_another_account_is_refused(aws: EmulatedAws) -> None:
    event = {**EVENT, "target": {"account_id": "444455556666", "region": "us-east-1"}}
    with pytest.raises(InputError) as caught:
        remediate(event)
    assert caught.value.field == "event.target"
