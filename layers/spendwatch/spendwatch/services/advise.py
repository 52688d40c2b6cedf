"""Right-sizing advice as a service: inventory, each subject's load over the lookback
(CloudWatch) and what scales it (Application Auto Scaling) in, an ``AdviceReport`` out.

Used by ``spendwatch advise`` and by the nightly idle scan, which stores the advice with its
report for the digest (``advice_for_scan``: the scan's inventory again, so the advice costs
no SageMaker call, only its metrics and two Application Auto Scaling listings). Advice only:
nothing is changed.

What is read, 500 series a GetMetricData call: each subject's ``Invocations`` (Sum); a classic
variant's standard ``CPUUtilization`` and, on a GPU instance, ``GPUUtilization`` (Average,
EndpointName and VariantName); a component's per-GPU ``GPUUtilizationNormalized`` series
(Average, found with one region-wide ListMetrics listing, only when some component holds
accelerators). In two passes: hourly figures over the lookback (the window's invocations, and
the busiest hour of each series, a component's GPUs together), then ``core.advice.PERIOD_S``
figures of that hour only, one batch per distinct hour: the peaks are the busiest 5 minutes of
the busiest hour, at a twelfth of the datapoints a week of 5-minute figures would be.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from spendwatch.aws.cloudwatch import CloudWatchMetrics, Query
from spendwatch.aws.scaling import ScalingReader
from spendwatch.aws.session import AwsContext
from spendwatch.core.advice import (
    DEFAULT_LOOKBACK_HOURS,
    MAX_LOOKBACK_HOURS,
    PERIOD_S,
    AdviceReport,
    Load,
    Points,
    SubjectKind,
    advise_all,
    busiest,
    load_series,
    mean_by_time,
    reduce_load,
    subjects,
)
from spendwatch.core.errors import AwsError, InputError
from spendwatch.core.idle import ScanReport
from spendwatch.core.inventory import Inventory
from spendwatch.core.timestamps import floor_minute
from spendwatch.services.estate import collect_inventory

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
HOUR_S = 3600


@dataclass(frozen=True)
class AdviseSettings:
    lookback_hours: int = DEFAULT_LOOKBACK_HOURS

    def __post_init__(self) -> None:
        if not 1 <= self.lookback_hours <= MAX_LOOKBACK_HOURS:
            raise InputError("lookback_hours", f"must be between 1 and {MAX_LOOKBACK_HOURS}, got {self.lookback_hours}")


def advise_inventory(
    aws: AwsContext, inventory: Inventory, settings: AdviseSettings, now: datetime, progress: Progress | None = None
) -> AdviceReport:
    """The advice for an inventory already collected."""
    now = floor_minute(now)
    found = subjects(inventory)
    metrics = CloudWatchMetrics(aws.client("cloudwatch"), aws.retry)
    gpu_components = {s.component_name for s in found if s.kind is SubjectKind.COMPONENT and s.accelerators_per_copy > 0}
    per_gpu = metrics.component_gpu_series({n for n in gpu_components if n is not None})
    # Each subject's groups of series: its invocations, its CPU, its GPU(s) (a component's GPUs
    # are one group: their mean is its utilization).
    groups: list[tuple[int, str, list[Query]]] = []
    for index, subject in enumerate(found):
        series = load_series(subject)
        groups.append((index, "invocations", [Query(series.invocations, PERIOD_S, "Sum")]))
        if series.cpu is not None:
            groups.append((index, "cpu", [Query(series.cpu, PERIOD_S, "Average")]))
        gpus = [series.gpu] if series.gpu is not None else per_gpu.get(subject.component_name or "", [])
        if gpus:
            groups.append((index, "gpu", [Query(g, PERIOD_S, "Average") for g in gpus]))
    flat = [q for _, _, queries in groups for q in queries]
    start = now - timedelta(hours=settings.lookback_hours)
    report = (lambda d, t: progress("metrics", d, t)) if progress else None
    # Pass 1: hourly figures over the window (the invocations' total, each group's busiest hour).
    hourly = metrics.get_metric_data([Query(q.series, HOUR_S, q.stat) for q in flat], start, now, report)
    totals: dict[int, float] = {}
    by_hour: dict[datetime, list[tuple[int, int]]] = defaultdict(list)  # hour -> (group, query of the group)
    offset = 0
    for number, (index, kind, queries) in enumerate(groups):
        group = hourly[offset : offset + len(queries)]
        offset += len(queries)
        if kind == "invocations":
            totals[index] = sum(v for _, v in group[0])
        hour = busiest(mean_by_time(group))
        if hour is not None:
            by_hour[hour].extend((number, q) for q in range(len(queries)))
    # Pass 2: PERIOD_S figures of each group's busiest hour, one batch per distinct hour.
    fine: dict[int, list[Points]] = {number: [[] for _ in queries] for number, (_, _, queries) in enumerate(groups)}
    for hour, members in sorted(by_hour.items()):
        read = metrics.get_metric_data([groups[n][2][q] for n, q in members], hour, min(hour + timedelta(seconds=HOUR_S), now))
        for (number, q), fine_points in zip(members, read, strict=True):
            fine[number][q] = fine_points
    parts: dict[int, dict[str, list[Points]]] = defaultdict(dict)
    for number, (index, kind, _) in enumerate(groups):
        parts[index][kind] = fine[number]
    loads: dict[str, Load] = {}
    for index, subject in enumerate(found):
        got = parts[index]
        loads[subject.resource_id] = reduce_load(
            subject,
            got["invocations"][0],
            got["cpu"][0] if "cpu" in got else [],
            got.get("gpu", []),
            PERIOD_S,
            total=totals.get(index, 0.0),
        )
    scaling = ScalingReader(aws.client("application-autoscaling"), aws.retry).sagemaker_scaling() if found else {}
    log.info("advice: %d subjects, %d series read with %d GetMetricData calls", len(found), len(flat), metrics.calls)
    return AdviceReport(
        advised_at=now,
        lookback_hours=settings.lookback_hours,
        region=inventory.region,
        advice=advise_all(found, loads, scaling, settings.lookback_hours),
        account_id=inventory.account_id,
    )


def run_advise(
    aws: AwsContext, settings: AdviseSettings, now: datetime | None = None, progress: Progress | None = None
) -> AdviceReport:
    """The advice for the account region of ``aws`` (its inventory collected here)."""
    inventory = collect_inventory(aws, (lambda d, t: progress("inventory", d, t)) if progress else None)
    return advise_inventory(aws, inventory, settings, now or aws.now, progress)


def advice_for_scan(aws: AwsContext, report: ScanReport, home_account: str = "") -> dict[str, Any] | None:
    """The advice, as JSON, for the endpoints the scan found (its inventory, read again from
    its findings), to be stored with the scan's report; None, and a warning, when it cannot
    be read (a role without Application Auto Scaling, throttling past its retries): the idle
    report is what the scan is for, and it is stored regardless."""
    inventory = Inventory(
        region=report.region,
        endpoints=tuple(f.endpoint for f in report.endpoints),
        components=tuple(f.component for f in report.components),
        account_id=report.account_id,
    )
    try:
        return advise_inventory(aws, inventory, AdviseSettings(), report.scanned_at).to_json(home_account)
    except AwsError as exc:
        log.warning("right-sizing advice not computed: %s", exc)
        return None
