"""Remediation as a service: the plan made from a scan report (``core.remediation``), each
action taken exactly once, and undone from what was saved. Used by the CLI (``act``,
``restore``) and the remediation Lambda alike.

Taking one action, in this order:

1. claim it in the action log (``planned``, a conditional write: of two runs, one proceeds;
   a replay finds it and does nothing);
2. look again, right before acting: the resource as it is now (still there, in service, its
   copies), its tags now, and its invocations from the scan's window start until now; a
   resource in use again, excluded since, or changed, is left alone (``skipped``);
3. save what restore needs in the log;
4. act, and append ``done`` (or ``failed``, with AWS's error).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from spendwatch.aws.actions import ActionLog
from spendwatch.aws.autoscaling import ScalableTargets
from spendwatch.aws.cloudwatch import CloudWatchMetrics
from spendwatch.aws.sagemaker_actions import SageMakerActions, scale_to_zero_config_name, scales_to_zero
from spendwatch.aws.session import AwsContext
from spendwatch.core.errors import AwsError, InputError, SpendwatchError
from spendwatch.core.inventory import (
    Endpoint,
    EndpointKind,
    InferenceComponent,
    Inventory,
    MetricsConfig,
    Variant,
)
from spendwatch.core.money import ZERO, format_money
from spendwatch.core.remediation import (
    DEFAULT_MIN_IDLE_NIGHTS,
    ActionKind,
    ActionRecord,
    ActionStatus,
    Plan,
    PlannedAction,
    SavedComponent,
    SavedEndpoint,
    plan,
    restore_command,
    saved_from_dict,
    tags_now_forbid,
)
from spendwatch.core.timestamps import ensure_utc, format_utc, parse_utc
from spendwatch.core.usage import usage_series
from spendwatch.core.wording import count

log = logging.getLogger(__name__)

DRY_RUN, DONE, FAILED, SKIPPED, ALREADY = "planned", "done", "failed", "skipped", "already-done"
RESTORE_WAIT_S = 30 * 60.0


@dataclass(frozen=True)
class ActSettings:
    min_idle_nights: int = DEFAULT_MIN_IDLE_NIGHTS
    apply: bool = False


@dataclass(frozen=True)
class Outcome:
    action: PlannedAction
    status: str
    """``planned`` (dry run), ``done``, ``failed``, ``skipped`` (the check just before acting
    left it alone) or ``already-done`` (another run holds it)."""
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return self.action.to_json(self.status, self.detail or None)


@dataclass
class ActRun:
    plan: Plan
    dry_run: bool
    outcomes: list[Outcome] = field(default_factory=list)
    region: str = ""

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == FAILED]

    def monthly_saving(self) -> Decimal:
        """What the actions done (or, in a dry run, planned) save per month."""
        counted = (DRY_RUN,) if self.dry_run else (DONE,)
        return sum((o.action.monthly_saving_usd or ZERO for o in self.outcomes if o.status in counted), ZERO)

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "region": self.region,
            "planned_at": format_utc(self.plan.planned_at),
            "report_scanned_at": format_utc(self.plan.report_scanned_at),
            "min_idle_nights": self.plan.min_idle_nights,
            "actions": [o.to_json() for o in self.outcomes],
            "skipped": [s.to_json() for s in self.plan.skipped],
            "findings": [f.to_json() for f in self.plan.findings],
            "monthly_saving_usd": format_money(self.monthly_saving()),
        }


@dataclass
class _Context:
    aws: AwsContext
    log: ActionLog
    report: dict[str, Any]
    now: datetime
    min_idle_nights: int
    sagemaker: SageMakerActions
    scaling: ScalableTargets

    @property
    def place(self) -> str:
        return self.aws.place


def _context(aws: AwsContext, log_: ActionLog, report: dict[str, Any], now: datetime, min_idle_nights: int) -> _Context:
    return _Context(
        aws,
        log_,
        report,
        now,
        min_idle_nights,
        SageMakerActions(aws.client("sagemaker"), aws.retry),
        ScalableTargets(aws.client("application-autoscaling"), aws.retry),
    )


# -- the plan --------------------------------------------------------------------------------------


def make_plan(aws: AwsContext, report: dict[str, Any], action_log: ActionLog, min_idle_nights: int, now: datetime) -> Plan:
    """The plan for ``report`` at ``now``: what the log holds of earlier actions counts, and
    so does an endpoint that already scales down to 0 instances (read now)."""
    history = action_log.records(aws.place)
    sagemaker = SageMakerActions(aws.client("sagemaker"), aws.retry)
    already = []
    for endpoint in report.get("endpoints", []):
        if endpoint.get("status") == "idle" and endpoint.get("hosts_inference_components"):
            described = sagemaker.endpoint(endpoint["endpoint_name"])
            if described is not None and scales_to_zero(described):
                already.append(endpoint["endpoint_name"])
    return plan(report, now, min_idle_nights, history, already)


def act(
    aws: AwsContext, report: dict[str, Any], action_log: ActionLog, settings: ActSettings, now: datetime | None = None
) -> ActRun:
    """Plan, and with ``settings.apply`` take each action once. Dry run: nothing is written."""
    now = now or aws.now
    planned = make_plan(aws, report, action_log, settings.min_idle_nights, now)
    run = ActRun(planned, dry_run=not settings.apply, region=aws.region)
    if not settings.apply:
        run.outcomes = [Outcome(a, DRY_RUN) for a in planned.actions]
        return run
    run.outcomes = apply_plan(aws, report, planned, action_log, now)
    return run


def apply_plan(aws: AwsContext, report: dict[str, Any], planned: Plan, action_log: ActionLog, now: datetime) -> list[Outcome]:
    """Take each action of ``planned`` (made from ``report``) once: of two runs with the same
    plan, the second finds every action held by the first."""
    ctx = _context(aws, action_log, report, now, planned.min_idle_nights)
    report_at = parse_utc(report["scanned_at"], "report.scanned_at")
    return [_apply_one(ctx, action, report_at) for action in planned.actions]


def _apply_one(ctx: _Context, action: PlannedAction, report_at: datetime) -> Outcome:
    claim = ctx.log.claim(action, ctx.place, ctx.now, report_at)
    if claim is None:
        record = ctx.log.record(ctx.place, action.key)
        status = record.status.value if record else "claimed"
        log.info("%s %s: another run holds it (%s)", action.kind, action.name, status)
        return Outcome(action, ALREADY, f"{status} by an earlier run")
    record = ctx.log.record(ctx.place, action.key)
    saved = record.saved if record is not None else None
    try:
        status, detail = _take(ctx, action, claim, saved)
    except SpendwatchError as exc:
        detail = str(exc)
        log.warning("%s %s failed: %s", action.kind, action.name, detail)
        ctx.log.advance(ctx.place, action.key, claim, ActionStatus.PLANNED, ActionStatus.FAILED, ctx.now, detail)
        return Outcome(action, FAILED, detail)
    if not ctx.log.advance(ctx.place, action.key, claim, ActionStatus.PLANNED, status, ctx.now, detail):
        detail += " (another run took the action over meanwhile)"
    log.info("%s %s: %s: %s", action.kind, action.name, status.value, detail)
    return Outcome(action, status.value, detail)


def _take(ctx: _Context, action: PlannedAction, claim: str, saved: dict[str, Any] | None) -> tuple[ActionStatus, str]:
    if action.kind is ActionKind.SCALE_COMPONENT_TO_ZERO:
        return _scale_component(ctx, action, claim, saved)
    if action.kind is ActionKind.ENABLE_ENDPOINT_SCALE_TO_ZERO:
        return _endpoint_scale_to_zero(ctx, action, claim, saved)
    return _delete_endpoint(ctx, action, claim, saved)


def _skip(reason: str) -> tuple[ActionStatus, str]:
    return ActionStatus.SKIPPED, reason


def _forbidden_by_tags(ctx: _Context, action: PlannedAction, arn: str, endpoint_arn: str | None) -> str | None:
    tags = ctx.sagemaker.tags(arn)
    endpoint_tags = ctx.sagemaker.tags(endpoint_arn) if endpoint_arn else tags
    return tags_now_forbid(action, tags, endpoint_tags, ctx.now, ctx.min_idle_nights)


def _scale_component(
    ctx: _Context, action: PlannedAction, claim: str, saved: dict[str, Any] | None
) -> tuple[ActionStatus, str]:
    name = action.name
    described = ctx.sagemaker.component(name)
    if described is None:
        return _skip("it is gone")
    runtime = described.get("RuntimeConfig") or {}
    copies = int(runtime.get("DesiredCopyCount", runtime.get("CurrentCopyCount", 0)) or 0)
    if copies == 0:
        if saved is not None:  # an earlier run of this action scaled it, then stopped short of saying so
            return ActionStatus.DONE, "at 0 copies (by an earlier run of this action)"
        return _skip("it has no copies any more")
    if described.get("InferenceComponentStatus") != "InService":
        return _skip(f"it is {described.get('InferenceComponentStatus')}, not InService")
    endpoint = ctx.sagemaker.endpoint(described["EndpointName"])
    why = _forbidden_by_tags(ctx, action, described["InferenceComponentArn"], endpoint["EndpointArn"] if endpoint else None)
    if why:
        return _skip(why)
    used = _invocations_since_scan(ctx, [], [_component_value(described)])
    if used:
        return _skip(used)
    limits = ctx.scaling.component_limits(name)
    state = saved_from_dict(saved) if saved else SavedComponent(copies, limits)
    ctx.log.save(ctx.place, action.key, claim, state.to_dict(), ctx.now)
    if limits is not None and limits["MinCapacity"] > 0:
        ctx.scaling.set_component_limits(name, 0, limits["MaxCapacity"])
    ctx.sagemaker.set_copies(name, 0)
    scaled = f"; its scalable target's minimum {limits['MinCapacity']} -> 0" if limits and limits["MinCapacity"] > 0 else ""
    return ActionStatus.DONE, f"{count(copies, 'copy')} -> 0{scaled}; undo: {restore_command(name)}"


def _endpoint_ready(ctx: _Context, name: str) -> tuple[dict[str, Any] | None, str | None]:
    described = ctx.sagemaker.endpoint(name)
    if described is None:
        return None, "it is gone"
    if described.get("EndpointStatus") != "InService":
        return None, f"it is {described.get('EndpointStatus')}, not InService"
    return described, None


def _endpoint_scale_to_zero(
    ctx: _Context, action: PlannedAction, claim: str, saved: dict[str, Any] | None
) -> tuple[ActionStatus, str]:
    name = action.endpoint_name
    described, why = _endpoint_ready(ctx, name)
    if described is None:
        return _skip(str(why))
    if scales_to_zero(described):
        if saved is not None:
            return ActionStatus.DONE, "scales down to 0 instances (by an earlier run of this action)"
        return _skip("its managed instance scaling already goes down to 0 instances")
    why = _forbidden_by_tags(ctx, action, described["EndpointArn"], None)
    if why:
        return _skip(why)
    components = [c for c in (ctx.sagemaker.component(n) for n in ctx.sagemaker.components_on(name)) if c is not None]
    placed = [
        f"{c['InferenceComponentName']} ({c.get('RuntimeConfig', {}).get('DesiredCopyCount', 0)} copies)"
        for c in components
        if int((c.get("RuntimeConfig") or {}).get("DesiredCopyCount", 0) or 0) > 0
    ]
    if placed:
        return _skip(f"copies are still placed on it: {', '.join(placed)}")
    used = _invocations_since_scan(ctx, [described], [_component_value(c) for c in components])
    if used:
        return _skip(used)
    if saved is not None:
        state = saved_from_dict(saved)
        assert isinstance(state, SavedEndpoint)
    else:
        now_state = ctx.sagemaker.save_endpoint(name)
        if now_state is None:
            return _skip("it is gone")
        state = replace(now_state, scale_to_zero_config=scale_to_zero_config_name(name, now_state.config_name))
    ctx.log.save(ctx.place, action.key, claim, state.to_dict(), ctx.now)
    config = ctx.sagemaker.enable_scale_to_zero(name, state)
    return ActionStatus.DONE, (
        f"managed instance scaling down to 0 instances (endpoint config {config}, was {state.config_name}); "
        f"undo: {restore_command(name)}"
    )


def _delete_endpoint(
    ctx: _Context, action: PlannedAction, claim: str, saved: dict[str, Any] | None
) -> tuple[ActionStatus, str]:
    name = action.endpoint_name
    described, why = _endpoint_ready(ctx, name)
    if described is None:
        if saved is not None and why == "it is gone":
            return ActionStatus.DONE, "deleted (by an earlier run of this action)"
        return _skip(str(why))
    why = _forbidden_by_tags(ctx, action, described["EndpointArn"], None)
    if why:
        return _skip(why)
    used = _invocations_since_scan(ctx, [described], [])
    if used:
        return _skip(used)
    state = saved_from_dict(saved) if saved else ctx.sagemaker.save_endpoint(name)
    if state is None:
        return _skip("it is gone")
    ctx.log.save(ctx.place, action.key, claim, state.to_dict(), ctx.now)
    ctx.sagemaker.delete_endpoint(name)
    assert isinstance(state, SavedEndpoint)
    return ActionStatus.DONE, (
        f"deleted; its config {state.config_name}, tags and instance counts are saved: {restore_command(name)} brings it back"
    )


# -- the check just before acting: invocations since the scan's window began ---------------------------


def _component_value(described: dict[str, Any]) -> InferenceComponent:
    return InferenceComponent(
        name=described["InferenceComponentName"],
        arn=described["InferenceComponentArn"],
        endpoint_name=described["EndpointName"],
        variant_name=described.get("VariantName", "AllTraffic"),
        created_at=ensure_utc(described["CreationTime"]),
        status=described.get("InferenceComponentStatus", "Unknown"),
        model_name=None,
        accelerators_per_copy=0,
        cpu_cores_per_copy=0,
        memory_mb_per_copy=0,
        copies=0,
    )


def _endpoint_value(ctx: _Context, described: dict[str, Any]) -> Endpoint:
    config = ctx.sagemaker.endpoint_config(described["EndpointConfigName"]) or {}
    variants = tuple(
        Variant(v["VariantName"], None, 0, False) for v in described.get("ProductionVariants", []) if v.get("VariantName")
    )
    return Endpoint(
        name=described["EndpointName"],
        arn=described["EndpointArn"],
        status=described.get("EndpointStatus", "Unknown"),
        created_at=ensure_utc(described["CreationTime"]),
        kind=EndpointKind.ASYNC if config.get("AsyncInferenceConfig") else EndpointKind.REAL_TIME,
        config_name=described["EndpointConfigName"],
        metrics=MetricsConfig(),
        variants=variants,
    )


def _invocations_since_scan(ctx: _Context, endpoints: list[dict[str, Any]], components: list[InferenceComponent]) -> str | None:
    """Why the resources are in use again (any invocation, or async backlog, from the scan's
    window start until now, read right now), or None. The series are the scan's own."""
    scanned_at = parse_utc(ctx.report["scanned_at"], "report.scanned_at")
    since = scanned_at - timedelta(hours=int(ctx.report.get("lookback_hours") or 24))
    hours = max(1, math.ceil((ctx.now - since).total_seconds() / 3600))
    inventory = Inventory(ctx.aws.region, tuple(_endpoint_value(ctx, e) for e in endpoints), tuple(components))
    series = usage_series(inventory)
    usage = CloudWatchMetrics(ctx.aws.client("cloudwatch"), ctx.aws.retry).usage(series, ctx.now, hours, hours)
    busy = sorted(key.name for key, u in usage.items() if u.active)
    if not busy:
        return None
    invocations = sum(u.invocations for u in usage.values())
    return f"in use again: {invocations} invocations since {format_utc(since)} ({', '.join(busy)})"


# -- restore ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Restored:
    record: ActionRecord
    status: str
    """``restored``, ``restore-failed`` or ``not-in-force`` (restored already, or another run restores it)."""
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.record.kind.value,
            "resource_type": self.record.resource_type,
            "endpoint_name": self.record.endpoint_name,
            "inference_component_name": self.record.inference_component_name,
            "acted_at": format_utc(self.record.done_at) if self.record.done_at else None,
            "status": self.status,
            "detail": self.detail or None,
        }


RESTORABLE = (ActionStatus.DONE, ActionStatus.RESTORE_FAILED, ActionStatus.RESTORING)


def restore(
    aws: AwsContext,
    action_log: ActionLog,
    name: str,
    now: datetime | None = None,
    wait_s: float = RESTORE_WAIT_S,
    sleep: Callable[[float], None] | None = None,
) -> list[Restored]:
    """Undo what was done to ``name`` (an endpoint, with what was done to its components, or
    one inference component) from what was saved: endpoints first, then components."""
    now = now or aws.now
    records = [
        r
        for r in action_log.records(aws.place)
        if r.status in RESTORABLE
        and (r.name == name or (r.kind is ActionKind.SCALE_COMPONENT_TO_ZERO and r.endpoint_name == name))
    ]
    if not records:
        raise InputError("NAME", f"no action in force on {name!r} to undo (spendwatch act lists what was done)")
    records.sort(key=lambda r: (r.resource_type != "endpoint", r.planned_at))
    sagemaker = SageMakerActions(aws.client("sagemaker"), aws.retry)
    scaling = ScalableTargets(aws.client("application-autoscaling"), aws.retry)
    wait = sleep or aws.retry.sleep
    results = []
    for record in records:
        claim = action_log.claim_restore(aws.place, record.key, now)
        if claim is None:
            results.append(Restored(record, "not-in-force", "restored already, or another run is restoring it"))
            continue
        try:
            if record.saved is None:
                raise InputError("NAME", f"{record.key}: nothing was saved for it")
            detail = _undo(sagemaker, scaling, record, saved_from_dict(record.saved), wait_s, wait)
        except SpendwatchError as exc:
            action_log.advance(aws.place, record.key, claim, ActionStatus.RESTORING, ActionStatus.RESTORE_FAILED, now, str(exc))
            results.append(Restored(record, ActionStatus.RESTORE_FAILED.value, str(exc)))
            continue
        action_log.advance(aws.place, record.key, claim, ActionStatus.RESTORING, ActionStatus.RESTORED, now, detail)
        results.append(Restored(record, ActionStatus.RESTORED.value, detail))
    return results


def _undo(
    sagemaker: SageMakerActions,
    scaling: ScalableTargets,
    record: ActionRecord,
    saved: SavedComponent | SavedEndpoint,
    wait_s: float,
    sleep: Callable[[float], None],
) -> str:
    if isinstance(saved, SavedComponent):
        name = record.name
        if sagemaker.component(name) is None:
            raise AwsError("DescribeInferenceComponent", "ValidationException", f"inference component {name} is gone")
        if saved.scaling:
            scaling.set_component_limits(name, saved.scaling["MinCapacity"], saved.scaling["MaxCapacity"])
        sagemaker.set_copies(name, saved.copies)
        back = f"; scalable target {saved.scaling['MinCapacity']}-{saved.scaling['MaxCapacity']}" if saved.scaling else ""
        return f"{count(saved.copies, 'copy')}{back}"
    name = record.endpoint_name
    current = sagemaker.endpoint(name)
    if record.kind is ActionKind.DELETE_ENDPOINT:
        if current is None:
            if sagemaker.endpoint_config(saved.config_name) is None:
                sagemaker.create_config({**saved.config, "EndpointConfigName": saved.config_name})
            sagemaker.create_endpoint(name, saved.config_name, saved.tags)
        elif current["EndpointConfigName"] != saved.config_name:
            raise AwsError(
                "CreateEndpoint",
                "ValidationException",
                f"an endpoint {name} exists with endpoint config {current['EndpointConfigName']}: it is not replaced",
            )
    else:
        if current is None:
            raise AwsError("DescribeEndpoint", "ValidationException", f"endpoint {name} is gone")
        if current["EndpointConfigName"] != saved.config_name:
            sagemaker.update_endpoint(name, saved.config_name)
    described = sagemaker.wait_in_service(name, wait_s, sleep)
    if described is None:
        raise AwsError(
            "DescribeEndpoint",
            "NotInService",
            f"{name} is not InService within {wait_s / 60:.0f} minutes: run {restore_command(name)} again once it is",
        )
    counts = {
        v["VariantName"]: int(v.get("DesiredInstanceCount", v.get("CurrentInstanceCount", 0)) or 0)
        for v in described.get("ProductionVariants", [])
        if "CurrentServerlessConfig" not in v
    }
    wanted = {v: n for v, n in saved.variant_counts.items() if counts.get(v) != n}
    if wanted:
        sagemaker.set_instance_counts(name, wanted)
        if sagemaker.wait_in_service(name, wait_s, sleep) is None:
            raise AwsError("UpdateEndpointWeightsAndCapacities", "NotInService", f"{name} did not come back InService")
    if saved.scale_to_zero_config:
        sagemaker.delete_config(saved.scale_to_zero_config)
    what = "recreated" if record.kind is ActionKind.DELETE_ENDPOINT else "back on"
    return f"{what} endpoint config {saved.config_name}" + (f", instance counts {wanted}" if wanted else "")
