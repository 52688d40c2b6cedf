"""Acting on what the idle scan found (issue 14): given an emulated fleet, when `spendwatch act`
plans and applies, then each idle resource gets exactly one action and nothing else is touched,
each action is written before it is taken and taken once, a resource in use again is left alone,
and `spendwatch restore` puts the account back as it was."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from spendwatch.aws.actions import ActionLog
from spendwatch.aws.reports import ReportStore
from spendwatch.aws.sagemaker_actions import SageMakerActions
from spendwatch.aws.session import AwsContext
from spendwatch.cli import cli
from spendwatch.core.errors import AwsError, InputError
from spendwatch.core.remediation import (
    ActionKind,
    ActionRecord,
    ActionStatus,
    PlannedAction,
    actions_between,
    plan,
    tags_now_forbid,
)
from spendwatch.core.timestamps import parse_utc
from spendwatch.services.act import ActSettings, act, apply_plan, make_plan, restore
from spendwatch.services.notify import NotifySettings, prepare
from spendwatch.services.scan import ScanSettings, run_scan
from tests.conftest import emulated
from tests.fleets import component, endpoint, fleet, gpu_endpoint, seg

NOW = datetime(2026, 11, 20, 6, tzinfo=UTC)
HISTORY = 240  # ten days: a week's grace can be proven
COPY_COUNT = "sagemaker:inference-component:DesiredCopyCount"
CHANGES = {
    "UpdateInferenceComponentRuntimeConfig",
    "CreateEndpointConfig",
    "UpdateEndpoint",
    "DeleteEndpoint",
    "CreateEndpoint",
    "UpdateEndpointWeightsAndCapacities",
    "DeleteEndpointConfig",
    "RegisterScalableTarget",
}

# Every kind of idle resource (each gets its action) and one of every other status (none is touched).
FLEET = fleet(
    gpu_endpoint(
        "shared",
        [
            component("ic-busy", traffic=[seg("2026-11-10T00:00:00Z", "2026-11-20T06:00:00Z")]),
            component("ic-quiet", copies=2, tags={"team": "docs"}),
            component(
                "ic-old",
                traffic=[seg("2026-11-11T00:00:00Z", "2026-11-11T02:00:00Z")],
                autoscaling={"min": 1, "max": 3, "target": 5},
            ),
        ],
        tags={"team": "search"},
    ),
    gpu_endpoint("pool", [component("ic-pool")], tags={"team": "vision"}),
    gpu_endpoint("empty-gpu", []),
    endpoint("churn", tags={"team": "growth", "cost-center": "cc-500"}),
    endpoint("doc-async", kind="async", tags={"team": "docs"}),
    {
        "name": "sls",
        "created_at": "2026-10-01T00:00:00Z",
        "kind": "serverless",
        "tags": {"spendwatch:action": "delete"},  # costs nothing idle: deleted only when asked
        "variants": [{"name": "AllTraffic", "serverless": {"memory_mb": 2048, "max_concurrency": 5}}],
    },
    endpoint("busy", traffic=[seg("2026-11-19T00:00:00Z", "2026-11-20T06:00:00Z")]),
    endpoint("fresh", created_at="2026-11-20T04:00:00Z"),
    endpoint("ignored", tags={"spendwatch:ignore": "true"}),
    endpoint("updating", status="Updating"),
    history_hours=HISTORY,
    prices_usd_per_hour={"ml.g6.12xlarge": "5.752", "ml.m5.large": "0.115"},
)


def _strip(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in ("CreationTime", "LastModifiedTime", "ResponseMetadata")}


def snapshot(aws: AwsContext) -> dict[str, Any]:
    """The account as acceptance compares it: DescribeEndpoint, DescribeEndpointConfig, ListTags,
    DescribeInferenceComponent (timestamps aside), and the copy counts' scalable targets."""
    sagemaker = aws.client("sagemaker")
    found: dict[str, Any] = {}
    for summary in sagemaker.list_endpoints(MaxResults=100)["Endpoints"]:
        described = sagemaker.describe_endpoint(EndpointName=summary["EndpointName"])
        config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
        tags = sagemaker.list_tags(ResourceArn=described["EndpointArn"])["Tags"]
        found[f"endpoint/{summary['EndpointName']}"] = (_strip(described), _strip(config), tags)
    for summary in sagemaker.list_inference_components(MaxResults=100)["InferenceComponents"]:
        described = sagemaker.describe_inference_component(InferenceComponentName=summary["InferenceComponentName"])
        tags = sagemaker.list_tags(ResourceArn=described["InferenceComponentArn"])["Tags"]
        found[f"component/{summary['InferenceComponentName']}"] = (_strip(described), tags)
    targets = aws.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")
    found["scalable-targets"] = [_strip(t) for t in targets["ScalableTargets"]]
    return found


def changes(aws: AwsContext) -> int:
    assert aws.emulator is not None
    return sum(n for op, n in aws.emulator.calls.items() if op in CHANGES)


def log_of(aws: AwsContext) -> ActionLog:
    return ActionLog(aws.client("dynamodb"), aws.table_name(None), aws.retry)


@pytest.fixture(scope="module")
def scanned() -> dict[str, Any]:
    """The fleet's report, as the CLI and the nightly scan make it (read once: scans cost)."""
    with emulated(FLEET) as aws:
        return run_scan(aws, ScanSettings()).to_json()


# -- the plan ----------------------------------------------------------------------------------------


def test_the_plan_has_one_action_per_idle_resource_and_none_for_any_other(scanned: dict[str, Any]) -> None:
    idle = {e["endpoint_name"] for e in scanned["endpoints"] if e["status"] == "idle"} | {
        c["inference_component_name"] for c in scanned["inference_components"] if c["status"] == "idle"
    }
    assert idle == {"ic-quiet", "ic-old", "ic-pool", "pool", "empty-gpu", "churn", "doc-async", "sls"}
    planned = plan(scanned, NOW)  # the default grace: 7 nights
    names = [a.name for a in planned.actions]
    assert sorted(names) == sorted(idle)  # one each, and no other
    kinds = {a.name: a.kind for a in planned.actions}
    assert {n for n, k in kinds.items() if k is ActionKind.SCALE_COMPONENT_TO_ZERO} == {"ic-quiet", "ic-old", "ic-pool"}
    assert {n for n, k in kinds.items() if k is ActionKind.ENABLE_ENDPOINT_SCALE_TO_ZERO} == {"pool", "empty-gpu"}
    assert {n for n, k in kinds.items() if k is ActionKind.DELETE_ENDPOINT} == {"churn", "doc-async", "sls"}
    assert names.index("ic-pool") < names.index("pool")  # what is placed goes first
    assert (planned.skipped, planned.findings) == ((), ())
    by_name = {a.name: a for a in planned.actions}
    assert by_name["churn"].monthly_saving_usd == Decimal("0.115") * 730
    assert by_name["ic-quiet"].monthly_saving_usd == Decimal("2.876") * 730  # 2 copies x 1 GPU x 5.752 / 4 GPUs
    assert by_name["pool"].monthly_saving_usd == (Decimal("5.752") - Decimal("1.438")) * 730  # its component's share apart
    assert by_name["sls"].monthly_saving_usd == 0


def test_the_grace_counts_nights_of_known_quiet(scanned: dict[str, Any]) -> None:
    """ic-old is idle since 2026-11-11T02:00Z (9.2 days); the others have no invocation in the
    10 days the scan looked at: 11 nights act on none, 10 on all but ic-old, 9 on all."""
    assert plan(scanned, NOW, 11).actions == ()
    ten = plan(scanned, NOW, 10)
    assert len(ten.actions) == 7
    assert [(s.inference_component_name, s.reason) for s in ten.skipped] == [
        ("ic-old", "idle for 9.2 days, fewer than 10 nights")
    ]
    assert len(plan(scanned, NOW, 9).actions) == 8


def _report(*endpoints: dict[str, Any], components: tuple[dict[str, Any], ...] = (), history_hours: int = 336) -> dict[str, Any]:
    return {
        "scanned_at": "2026-11-20T06:00:00Z",
        "lookback_hours": 24,
        "history_hours": history_hours,
        "endpoints": list(endpoints),
        "inference_components": list(components),
    }


def _endpoint(
    name: str, *, tags: dict[str, str] | None = None, idle_since: str | None = "2026-11-01T00:00:00Z", **extra: Any
) -> dict[str, Any]:
    return {
        "endpoint_name": name,
        "status": "idle",
        "hourly_cost_usd": "1.000000",
        "idle_since": idle_since,
        "created_at": "2026-09-01T00:00:00Z",
        "kind": "real-time",
        "owner": "team-a",
        "hosts_inference_components": False,
        "tags": tags or {},
        **extra,
    }


def _component(name: str, endpoint_name: str, *, tags: dict[str, str] | None = None, copies: int = 1) -> dict[str, Any]:
    return {
        "inference_component_name": name,
        "endpoint_name": endpoint_name,
        "status": "idle",
        "hourly_cost_usd": "0.500000",
        "idle_since": "2026-11-01T00:00:00Z",
        "created_at": "2026-09-01T00:00:00Z",
        "owner": "team-a",
        "copies": copies,
        "tags": tags or {},
    }


def test_tags_override_per_resource_and_a_bad_value_is_a_finding_that_leaves_it_alone() -> None:
    report = _report(
        _endpoint("keep", tags={"spendwatch:action": "None "}),
        _endpoint("weird", tags={"spendwatch:action": "explode"}),
        _endpoint("classic-s2z", tags={"spendwatch:action": "scale-to-zero"}),
        _endpoint("batch", tags={"spendwatch:idle-days": "30"}),
        _endpoint("batch-bad", tags={"spendwatch:idle-days": "soon"}),
        _endpoint("gpu-delete", hosts_inference_components=True, tags={"spendwatch:action": "delete"}),
        _endpoint("gpu-none", hosts_inference_components=True, tags={"spendwatch:action": "none"}),
        _endpoint("sls", kind="serverless", hourly_cost_usd="0.000000", tags={"spendwatch:action": "delete"}),
        components=(
            _component("ic-own-none", "gpu-delete", tags={"spendwatch:action": "none"}),
            _component("ic-delete", "gpu-delete", tags={"spendwatch:action": "delete"}),
            _component("ic-inherits-none", "gpu-none"),
            _component("ic-grace", "gpu-delete", tags={"spendwatch:idle-days": "25"}),
        ),
    )
    planned = plan(report, NOW)
    assert [(a.kind, a.name) for a in planned.actions] == [(ActionKind.DELETE_ENDPOINT, "sls")]
    assert "tag spendwatch:action=delete" in planned.actions[0].reason
    untagged = plan(_report(_endpoint("sls", kind="serverless", hourly_cost_usd="0.000000")), NOW)
    assert untagged.actions == ()  # a serverless endpoint costs nothing idle: deleting it saves nothing
    assert [(k.endpoint_name, "costs nothing idle" in k.reason) for k in untagged.skipped] == [("sls", True)]
    findings = {(f.name, f.tag): f.text() for f in planned.findings}
    assert set(findings) == {
        ("weird", "spendwatch:action"),
        ("classic-s2z", "spendwatch:action"),
        ("batch-bad", "spendwatch:idle-days"),
        ("gpu-delete", "spendwatch:action"),
        ("ic-delete", "spendwatch:action"),
    }
    assert findings[("weird", "spendwatch:action")] == (
        "endpoint weird: tag spendwatch:action: 'explode' is not one of none, scale-to-zero, delete (left alone)"
    )
    skipped = {s.inference_component_name or s.endpoint_name: s.reason for s in planned.skipped}
    assert skipped["keep"] == "tag spendwatch:action=none"
    assert skipped["gpu-none"] == "tag spendwatch:action=none"
    assert skipped["ic-own-none"] == "tag spendwatch:action=none"
    assert skipped["ic-inherits-none"] == "tag spendwatch:action=none (its endpoint's)"
    assert skipped["batch"] == "idle for 19.2 days, fewer than 30 nights"  # a monthly batch endpoint is kept
    assert skipped["ic-grace"] == "idle for 19.2 days, fewer than 25 nights"


def test_no_invocation_known_counts_only_the_quiet_the_history_shows() -> None:
    """Created long ago, no invocation in the 2 days looked at: quiet for 2 days, not since creation."""
    report = _report(_endpoint("never", idle_since=None), history_hours=48)
    assert plan(report, NOW, 1).actions[0].reason == "no invocation seen for at least 2.0 days"
    (skipped,) = plan(report, NOW, 7).skipped
    assert skipped.reason == "no invocation seen in the 2.0 days the scan looked at, fewer than 7 nights"
    assert plan(_report(_endpoint("never", idle_since=None), history_hours=24 * 14), NOW, 7).actions[0].name == "never"


def _record(action: PlannedAction, status: ActionStatus, at: datetime = NOW) -> ActionRecord:
    history = (
        {"status": "planned", "at": "2026-11-20T06:00:00Z", "detail": ""},
        {"status": status.value, "at": f"{at:%Y-%m-%dT%H:%M:%SZ}", "detail": ""},
    )
    return ActionRecord(
        key=action.key,
        kind=action.kind,
        endpoint_name=action.endpoint_name,
        inference_component_name=action.inference_component_name,
        status=status,
        history=history,
        planned_at=NOW,
        report_at=NOW,
        episode=action.episode,
        owner=action.owner,
        hourly_cost_usd=action.hourly_cost_usd,
        done_at=NOW,
    )


def test_the_log_keeps_a_resource_from_a_second_action_and_a_restored_one_until_new_traffic() -> None:
    report = _report(_endpoint("churn"))
    (action,) = plan(report, NOW).actions
    done = plan(report, NOW, history=[_record(action, ActionStatus.DONE)])
    assert done.actions == ()
    assert done.skipped[0].reason.startswith("already done: delete-endpoint at 2026-11-20T06:00:00Z (spendwatch restore churn")
    restored = plan(report, NOW, history=[_record(action, ActionStatus.RESTORED)])
    assert restored.actions == ()
    assert "acted on again only after new traffic" in restored.skipped[0].reason
    later = _report(_endpoint("churn", idle_since="2026-11-05T00:00:00Z"))  # traffic since: a new idleness
    assert [a.name for a in plan(later, NOW, history=[_record(action, ActionStatus.RESTORED)]).actions] == ["churn"]
    assert [a.name for a in plan(report, NOW, history=[_record(action, ActionStatus.FAILED)]).actions] == ["churn"]


def test_tags_read_just_before_acting_can_still_keep_a_resource() -> None:
    (action,) = plan(_report(_endpoint("churn")), NOW).actions
    assert tags_now_forbid(action, {}, {}, NOW, 7) is None
    assert tags_now_forbid(action, {"spendwatch:ignore": "TRUE"}, {}, NOW, 7) == "tagged spendwatch:ignore=true since the scan"
    assert tags_now_forbid(action, {"spendwatch:action": "none"}, {}, NOW, 7) == "tag spendwatch:action=none since the scan"
    assert "asks for 40 nights" in str(tags_now_forbid(action, {"spendwatch:idle-days": "40"}, {}, NOW, 7))
    assert "is not one of" in str(tags_now_forbid(action, {"spendwatch:action": "later"}, {}, NOW, 7))


def test_a_digest_tells_each_action_once() -> None:
    report = _report(_endpoint("churn"))
    (action,) = plan(report, NOW).actions
    tonight = _record(action, ActionStatus.DONE)
    by_hand = replace(tonight, key="other", report_at=NOW + timedelta(hours=9))  # a CLI run at 15:00
    records = [tonight, by_hand]
    assert actions_between(records, NOW - timedelta(days=1), NOW) == [tonight]
    assert actions_between(records, NOW, NOW + timedelta(days=1)) == [by_hand]
    assert actions_between([replace(tonight, status=ActionStatus.SKIPPED)], None, NOW) == []


# -- applying on the emulated fleet ------------------------------------------------------------------------


def test_dry_run_is_the_default_and_writes_nothing() -> None:
    with emulated(FLEET) as aws:
        report = run_scan(aws, ScanSettings()).to_json()
        before, calls = snapshot(aws), changes(aws)
        run = act(aws, report, log_of(aws), ActSettings())
        assert run.dry_run
        assert {o.status for o in run.outcomes} == {"planned"}
        assert changes(aws) == calls
        assert snapshot(aws) == before
        assert log_of(aws).records(aws.place) == []
        items = aws.client("dynamodb").scan(TableName=aws.table_name(None))["Items"]
        assert not [i for i in items if i["pk"]["S"].startswith("ACTION#")]


def test_apply_then_restore_leaves_the_account_as_it_was_and_a_second_apply_does_nothing() -> None:
    with emulated(FLEET) as aws:
        before = snapshot(aws)
        action_log = log_of(aws)
        report = run_scan(aws, ScanSettings()).to_json()
        run = act(aws, report, action_log, ActSettings(apply=True))
        assert {(o.action.name, o.status) for o in run.outcomes} == {
            (n, "done") for n in ("ic-quiet", "ic-old", "ic-pool", "pool", "empty-gpu", "churn", "doc-async", "sls")
        }
        sagemaker = aws.client("sagemaker")
        assert "churn" not in [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]]
        assert sagemaker.describe_inference_component(InferenceComponentName="ic-quiet")["RuntimeConfig"]["CurrentCopyCount"] == 0
        pool = sagemaker.describe_endpoint(EndpointName="pool")["ProductionVariants"][0]
        assert (pool["CurrentInstanceCount"], pool["ManagedInstanceScaling"]["MinInstanceCount"]) == (0, 0)
        targets = aws.client("application-autoscaling").describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=["inference-component/ic-old"]
        )["ScalableTargets"]
        assert (targets[0]["MinCapacity"], targets[0]["MaxCapacity"]) == (0, 3)
        # Written before acting, with what restore needs, and every status appended.
        records = {r.name: r for r in action_log.records(aws.place)}
        assert {r.status for r in records.values()} == {ActionStatus.DONE}
        assert [h["status"] for h in records["churn"].history] == ["planned", "planned", "done"]
        assert records["churn"].saved is not None
        assert records["churn"].saved["tags"] == {
            "cost-center": "cc-500",
            "team": "growth",
        }
        assert records["ic-old"].saved == {
            "type": "inference-component",
            "copies": 1,
            "scaling": {"MinCapacity": 1, "MaxCapacity": 3},
        }

        # A second --apply (a fresh scan) and a replay of the same report do nothing.
        calls = changes(aws)
        again = act(aws, run_scan(aws, ScanSettings()).to_json(), action_log, ActSettings(apply=True))
        replay = act(aws, report, action_log, ActSettings(apply=True))
        assert again.outcomes == []
        assert replay.outcomes == []
        assert changes(aws) == calls

        for name in ("churn", "doc-async", "sls", "pool", "empty-gpu", "ic-quiet", "ic-old"):
            results = restore(aws, action_log, name)
            assert {r.status for r in results} == {"restored"}, results
        assert snapshot(aws) == before
        assert {r.status for r in action_log.records(aws.place)} == {ActionStatus.RESTORED}
        with pytest.raises(InputError) as caught:
            restore(aws, action_log, "churn")  # nothing in force on it any more
        assert caught.value.field == "NAME"


def test_two_runs_with_the_same_plan_act_once() -> None:
    with emulated(FLEET) as aws:
        report = run_scan(aws, ScanSettings()).to_json()
        first, second = (make_plan(aws, report, log_of(aws), 7, NOW) for _ in range(2))  # both planned before either acts
        done = apply_plan(aws, report, first, log_of(aws), NOW)
        calls = changes(aws)
        again = apply_plan(aws, report, second, log_of(aws), NOW)
        assert {o.status for o in done} == {"done"}
        assert {o.status for o in again} == {"already-done"}
        assert all(o.detail == "done by an earlier run" for o in again)
        assert changes(aws) == calls


def test_a_resource_that_turns_active_between_plan_and_apply_is_not_touched() -> None:
    late = fleet(
        gpu_endpoint(
            "shared",
            [
                component("ic-late", traffic=[seg("2026-11-20T05:30:00Z", "2026-11-20T06:00:00Z")]),
                component("ic-busy", traffic=[seg("2026-11-10T00:00:00Z", "2026-11-20T06:00:00Z")]),
            ],
        ),
        history_hours=HISTORY,
    )
    planned_at = NOW - timedelta(hours=1)
    with emulated(late) as aws:
        assert aws.emulator is not None
        assert aws.emulator.set_clock is not None
        aws.emulator.set_clock(planned_at)
        earlier = replace(aws, now=planned_at)
        report = run_scan(earlier, ScanSettings()).to_json()
        planned = make_plan(earlier, report, log_of(aws), 7, planned_at)
        assert [a.name for a in planned.actions] == ["ic-late"]  # idle when planned
        aws.emulator.set_clock(NOW)  # then it is invoked at 05:30
        (outcome,) = apply_plan(replace(aws, now=NOW), report, planned, log_of(aws), NOW)
        assert outcome.status == "skipped"
        assert outcome.detail.startswith("in use again: 30 invocations since 2026-11-19T05:00:00Z (ic-late)")
        described = aws.client("sagemaker").describe_inference_component(InferenceComponentName="ic-late")
        assert described["RuntimeConfig"]["CurrentCopyCount"] == 1
        assert changes(aws) == 0
        (record,) = log_of(aws).records(aws.place)
        assert record.status is ActionStatus.SKIPPED
        assert record.saved is None


def test_a_failed_action_is_recorded_and_the_next_run_takes_it_over(monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(self: SageMakerActions, name: str) -> bool:
        raise AwsError("DeleteEndpoint", "AccessDeniedException", f"not authorized to delete {name}")

    only_churn = fleet(endpoint("churn"), history_hours=HISTORY)
    with emulated(only_churn) as aws, monkeypatch.context() as patched:
        report = run_scan(aws, ScanSettings()).to_json()
        patched.setattr(SageMakerActions, "delete_endpoint", denied)
        (failed,) = act(aws, report, log_of(aws), ActSettings(apply=True)).outcomes
        assert failed.status == "failed"
        assert failed.detail == "DeleteEndpoint failed: AccessDeniedException: not authorized to delete churn"
        (record,) = log_of(aws).records(aws.place)
        assert record.status is ActionStatus.FAILED
        assert record.saved is not None
        patched.undo()
        (retried,) = act(aws, report, log_of(aws), ActSettings(apply=True)).outcomes
        assert retried.status == "done"
        (record,) = log_of(aws).records(aws.place)
        assert [h["status"] for h in record.history] == ["planned", "planned", "failed", "planned", "planned", "done"]


def test_a_run_that_stopped_after_acting_is_completed_by_the_next() -> None:
    only_churn = fleet(endpoint("churn"), history_hours=HISTORY)
    with emulated(only_churn) as aws:
        report = run_scan(aws, ScanSettings()).to_json()
        action_log = log_of(aws)
        (action,) = make_plan(aws, report, action_log, 7, NOW).actions
        claim = action_log.claim(action, aws.place, NOW, NOW)
        assert claim is not None
        saved = SageMakerActions(aws.client("sagemaker"), aws.retry).save_endpoint("churn")
        assert saved is not None
        action_log.save(aws.place, action.key, claim, saved.to_dict(), NOW)
        aws.client("sagemaker").delete_endpoint(EndpointName="churn")  # ... and the run died here
        assert action_log.claim(action, aws.place, NOW + timedelta(minutes=5), NOW) is None  # still its run's
        planned = replace(make_plan(aws, report, action_log, 7, NOW), actions=(action,))
        later = NOW + timedelta(minutes=20)
        (outcome,) = apply_plan(aws, report, planned, action_log, later)
        assert (outcome.status, outcome.detail) == ("done", "deleted (by an earlier run of this action)")
        assert {r.status for r in restore(aws, action_log, "churn", later)} == {"restored"}


def test_the_next_digest_tells_each_action_with_its_saving_and_how_to_undo_it() -> None:
    with emulated(FLEET) as aws:
        store = ReportStore(aws.client("dynamodb"), aws.table_name(None), aws.retry)
        report = run_scan(aws, ScanSettings()).to_json()
        store.put(report, parse_utc(report["scanned_at"], "scanned_at"), aws.place)
        act(aws, report, log_of(aws), ActSettings(apply=True))
        from spendwatch.aws.ledger import Ledger

        ledger = Ledger(aws.client("dynamodb"), aws.table_name(None), aws.retry)
        prepared = prepare(aws, ledger, store, NotifySettings(), NOW)
        digests = {n.team: n for n, _ in prepared.messages if n.kind == "idle-report"}
        growth = digests["growth"].email
        assert "Actions taken since the last digest ($83.95 a month saved):" in growth
        assert "- delete-endpoint churn at 2026-11-20 06:00Z: saves $83.95 a month; to undo: spendwatch restore churn" in growth
        assert "spendwatch restore ic-quiet" in digests["docs"].email
        assert "Undo an action: spendwatch restore NAME" in digests["growth"].chatbot["content"]["nextSteps"]


# -- the command line ------------------------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spendwatch.cli", *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def fleet_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("act") / "fleet.json"
    path.write_text(json.dumps(FLEET))
    return path


def test_act_json_contract_is_a_dry_run_by_default(fleet_file: Path) -> None:
    done = run_cli("act", "--fleet", str(fleet_file), "--format", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["dry_run"] is True
    assert {"actions", "skipped", "findings", "monthly_saving_usd"} <= set(document)
    churn = next(a for a in document["actions"] if a["endpoint_name"] == "churn")
    assert {k: churn[k] for k in ("action", "resource_type", "inference_component_name", "monthly_saving_usd", "status")} == {
        "action": "delete-endpoint",
        "resource_type": "endpoint",
        "inference_component_name": None,
        "monthly_saving_usd": "83.950000",
        "status": "planned",
    }
    assert churn["reason"] == "no invocation seen for at least 10.0 days"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["act", "--min-idle-nights", "-1"], "--min-idle-nights"),
        (["act", "--min-idle-nights", "soon"], "--min-idle-nights"),
        (["act", "--format", "yaml"], "--format"),
        (["restore", "no-such-endpoint"], "NAME"),
        (["restore"], "NAME"),
    ],
)
def test_bad_input_exits_2_naming_the_flag(fleet_file: Path, args: list[str], needle: str) -> None:
    done = run_cli(*args, "--fleet", str(fleet_file))
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert needle in done.stderr


@contextmanager
def _shared(aws: AwsContext) -> Iterator[AwsContext]:
    yield aws


def test_act_apply_then_restore_from_the_command_line(monkeypatch: pytest.MonkeyPatch, fleet_file: Path) -> None:
    """Both commands on one emulated account (each --fleet run would seed its own)."""
    with emulated(FLEET) as aws:
        monkeypatch.setattr("spendwatch.cli.commands.open_fleet", lambda _path: _shared(aws))
        before = snapshot(aws)
        runner = CliRunner()
        applied = runner.invoke(cli, ["act", "--fleet", str(fleet_file), "--apply", "--format", "json"])
        assert applied.exit_code == 0, applied.output
        document = json.loads(applied.output)
        assert document["dry_run"] is False
        assert {a["status"] for a in document["actions"]} == {"done"}
        assert document["monthly_saving_usd"] == "11715.040000"  # 16.048 USD an hour, x 730
        shown = runner.invoke(cli, ["act", "--fleet", str(fleet_file)])
        assert shown.exit_code == 0, shown.output
        assert "No action is due." in shown.output
        assert "left alone: churn" not in shown.output  # deleted: not in the scan any more
        for name in ("churn", "doc-async", "sls", "pool", "empty-gpu", "shared"):
            restored = runner.invoke(cli, ["restore", name, "--fleet", str(fleet_file), "--format", "json"])
            assert restored.exit_code == 0, restored.output
            assert {r["status"] for r in json.loads(restored.output)["restored"]} == {"restored"}
        assert snapshot(aws) == before
