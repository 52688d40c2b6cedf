"""Right-sizing advice (pure): for each real-time endpoint variant and inference component,
from its load over the lookback and its Application Auto Scaling state, whether it scales,
what bounds it, the target-tracking policy to set, and the smaller count or instance type
its peak fits. Advice only: spendwatch never applies it.

The rules, in the order they apply (thresholds are the named constants below):

* **idle**: no invocations in the lookback. No policy: the idle scan's finding applies.
* **unknown (no metrics)**: invocations, but no CPU or GPU utilization datapoint (or an
  instance type whose vCPUs and GPUs are not known, so utilization cannot be read per unit).
  The recommendation is the auto-scaling guide's default: invocations per instance (copy).
* **compute**: the *peak utilization* (the busiest ``PERIOD_S`` average of CPU or GPU
  utilization, per vCPU or per GPU, 0-100, whichever is higher) is at least
  ``COMPUTE_BOUND_PCT``: compute saturates before requests do, so the policy tracks that
  utilization (``CPUUtilization`` or ``GPUUtilization`` of ``/aws/sagemaker/Endpoints``, a
  customized metric) at ``TARGET_UTILIZATION_PCT`` of each unit. Those standard metrics sum
  the instance's cores (or GPUs): 70 % of each of 4 GPUs is a ``TargetValue`` of 280. A
  component's ``GPUUtilizationNormalized`` is per GPU already (target 70).
* **throughput**: otherwise. Compute keeps headroom even at the peak, so the request rate is
  what to track: ``SageMakerVariantInvocationsPerInstance`` (a component:
  ``SageMakerInferenceComponentInvocationsPerCopy``), a predefined metric. Its target is the
  load an instance sustains at ``TARGET_UTILIZATION_PCT``: the peak invocations per instance
  per minute (the busiest ``PERIOD_S``'s) times ``TARGET_UTILIZATION_PCT / peak utilization``,
  at most ``MAX_LOAD_GROWTH`` times the peak (the only capacity known for sure is the load
  seen served; utilization need not grow linearly), rounded down to 0.01. Without
  utilization (unknown), ``THROUGHPUT_HEADROOM`` (70 %) of the peak: 30 % left for the
  minutes new instances take to start.

**The count the peak fits** (only where nothing scales it, i.e. no scaling policy, and the
bound is compute or throughput): ``ceil(instances x peak utilization / TARGET_UTILIZATION_PCT)``
(the peak's load spread over fewer instances, each at the target), never fewer than
``ceil(instances / MAX_LOAD_GROWTH)`` nor than 1; reported when below the current count. For a
throughput-bound load this is ``ceil(peak per-instance load x instances / target)`` with the
target above. Where the count cannot drop (one instance), **the smaller instance type** of
the same family whose vCPUs (and GPUs) hold the peak at the target, under the same growth
limit, is named.

The recommendation's capacities: ``min_capacity`` is the registered minimum, else 1;
``max_capacity`` the largest of the registered maximum, the current count and the count the
peak needs at the recommended target (today's count stays reachable, and no more is added
than the peak asks for).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from spendwatch.core import metricnames as mn
from spendwatch.core.inventory import EndpointKind, Inventory
from spendwatch.core.pricing import INSTANCE_SPECS
from spendwatch.core.timestamps import format_utc
from spendwatch.core.usage import MetricSeries
from spendwatch.core.wording import plural

COMPUTE_BOUND_PCT = Decimal(60)
"""Peak utilization (per vCPU or GPU) at or above which a load is compute-bound."""
TARGET_UTILIZATION_PCT = Decimal(70)
"""Utilization a compute-bound policy tracks, and the count a peak fits is computed at."""
THROUGHPUT_HEADROOM = Decimal("0.7")
"""Share of the peak per-instance load an invocations policy targets."""
MAX_LOAD_GROWTH = 2
"""A smaller count or type never asks an instance for more than this times its seen peak."""
MIN_CAPACITY = 1
"""The recommended minimum where none is registered."""
PERIOD_S = 300
"""Peaks are of 5-minute figures: one busy minute is not a load to size for."""
DEFAULT_LOOKBACK_HOURS = 7 * 24
"""A week: weekday and weekend peaks both."""
MAX_LOOKBACK_HOURS = 63 * 24
"""CloudWatch keeps 5-minute datapoints 63 days."""
TEAM_TAG = "team"

SAGEMAKER_NAMESPACE = "sagemaker"  # Application Auto Scaling's service namespace
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
COMPONENT_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
VARIANT_INVOCATIONS_METRIC = "SageMakerVariantInvocationsPerInstance"
COMPONENT_INVOCATIONS_METRIC = "SageMakerInferenceComponentInvocationsPerCopy"
COMPONENT_CONCURRENCY_METRIC = "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
PREDEFINED_METRICS = frozenset({VARIANT_INVOCATIONS_METRIC, COMPONENT_INVOCATIONS_METRIC, COMPONENT_CONCURRENCY_METRIC})

_PCT = Decimal("0.1")
_RATE = Decimal("0.01")


class Bound(StrEnum):
    COMPUTE = "compute"
    THROUGHPUT = "throughput"
    IDLE = "idle"
    UNKNOWN = "unknown (no metrics)"


class SubjectKind(StrEnum):
    VARIANT = "variant"
    COMPONENT = "component"


def variant_resource_id(endpoint_name: str, variant_name: str) -> str:
    """Application Auto Scaling's ResourceId of a variant."""
    return f"endpoint/{endpoint_name}/variant/{variant_name}"


def component_resource_id(component_name: str) -> str:
    return f"inference-component/{component_name}"


# -- what goes in ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScalingPolicy:
    name: str
    policy_type: str
    """TargetTrackingScaling, StepScaling, PredictiveScaling."""
    metric: str | None
    """The predefined metric type, or the customized metric's name (None: step scaling, metric math)."""
    target: Decimal | None


@dataclass(frozen=True)
class Scaling:
    """A registered scalable target and its policies."""

    resource_id: str
    dimension: str
    min_capacity: int
    max_capacity: int
    policies: tuple[ScalingPolicy, ...] = ()
    suspended: bool = False
    """Dynamic scaling in or out suspended."""

    @property
    def scales(self) -> bool:
        """Whether anything changes the count: a policy, room between min and max, not suspended."""
        return bool(self.policies) and self.max_capacity > self.min_capacity and not self.suspended

    @property
    def tracked(self) -> ScalingPolicy | None:
        """The target-tracking policy (the first one), else the first policy."""
        tracking = [p for p in self.policies if p.policy_type == "TargetTrackingScaling"]
        chosen = tracking or list(self.policies)
        return chosen[0] if chosen else None


@dataclass(frozen=True)
class Subject:
    """What advice is given on: a classic real-time variant (instances) or a component (copies)."""

    kind: SubjectKind
    endpoint_name: str
    variant_name: str
    instance_type: str | None
    count: int
    """Instances of the variant, copies of the component, now."""
    component_name: str | None = None
    accelerators_per_copy: float = 0
    owner: str | None = None

    @property
    def resource_id(self) -> str:
        if self.kind is SubjectKind.COMPONENT:
            assert self.component_name is not None
            return component_resource_id(self.component_name)
        return variant_resource_id(self.endpoint_name, self.variant_name)

    @property
    def name(self) -> str:
        return self.component_name or f"{self.endpoint_name}/{self.variant_name}"

    @property
    def vcpus(self) -> int | None:
        spec = INSTANCE_SPECS.get(self.instance_type or "")
        return spec.vcpus if spec is not None else None

    @property
    def gpus(self) -> int | None:
        spec = INSTANCE_SPECS.get(self.instance_type or "")
        return spec.gpus if spec is not None else None


@dataclass(frozen=True)
class Load:
    """A subject's load over the lookback, as read from CloudWatch."""

    invocations: int
    """Invocations in the lookback."""
    peak_per_minute: Decimal
    """Invocations per minute in the busiest ``PERIOD_S`` (the whole variant or component)."""
    cpu_peak_pct: Decimal | None = None
    """Busiest ``PERIOD_S`` average CPU utilization, per vCPU (0-100); None: no datapoint."""
    gpu_peak_pct: Decimal | None = None
    """Busiest ``PERIOD_S`` average GPU utilization, per GPU (0-100); None: no datapoint."""


NO_LOAD = Load(invocations=0, peak_per_minute=Decimal(0))


@dataclass(frozen=True)
class LoadSeries:
    """The series that describe a subject's load (components' per-GPU series are found by
    ListMetrics: their dimensions name instances and GPUs)."""

    invocations: MetricSeries
    cpu: MetricSeries | None = None
    gpu: MetricSeries | None = None


def subjects(inventory: Inventory) -> list[Subject]:
    """What is advised on: the classic variants of real-time endpoints in service, and the
    components on them; not serverless or async endpoints (their scaling is another story:
    provisioned concurrency, backlog per instance), nor excluded ones."""
    found: list[Subject] = []
    for endpoint in sorted(inventory.endpoints, key=lambda e: e.name):
        if endpoint.kind is not EndpointKind.REAL_TIME or endpoint.excluded or endpoint.status != "InService":
            continue
        team = endpoint.tags.get(TEAM_TAG)
        for variant in endpoint.variants:
            if variant.instance_type is None or variant.hosts_components:
                continue
            found.append(
                Subject(
                    SubjectKind.VARIANT, endpoint.name, variant.name, variant.instance_type, variant.instance_count, owner=team
                )
            )
        types = {v.name: v.instance_type for v in endpoint.variants}
        for component in sorted(inventory.components_of(endpoint.name), key=lambda c: c.name):
            if component.excluded or component.deleted_at is not None:
                continue
            found.append(
                Subject(
                    SubjectKind.COMPONENT,
                    endpoint.name,
                    component.variant_name,
                    types.get(component.variant_name),
                    component.copies,
                    component_name=component.name,
                    accelerators_per_copy=component.accelerators_per_copy,
                    owner=component.tags.get(TEAM_TAG, team),
                )
            )
    return found


def load_series(subject: Subject) -> LoadSeries:
    """The series of a subject's traffic and, for a variant, its standard utilization metrics
    (``/aws/sagemaker/Endpoints``, dimensions EndpointName and VariantName: the metrics a
    customized target-tracking policy names)."""
    if subject.kind is SubjectKind.COMPONENT:
        assert subject.component_name is not None
        dims: tuple[tuple[str, str], ...] = ((mn.DIM_COMPONENT, subject.component_name),)
        return LoadSeries(MetricSeries(mn.SAGEMAKER_NAMESPACE, mn.INVOCATIONS, dims))
    dims = ((mn.DIM_ENDPOINT, subject.endpoint_name), (mn.DIM_VARIANT, subject.variant_name))
    return LoadSeries(
        MetricSeries(mn.SAGEMAKER_NAMESPACE, mn.INVOCATIONS, dims),
        MetricSeries(mn.ENHANCED_ENDPOINTS_NAMESPACE, mn.CPU_UTILIZATION, dims, counts=False),
        MetricSeries(mn.ENHANCED_ENDPOINTS_NAMESPACE, mn.VARIANT_GPU_UTILIZATION, dims, counts=False) if subject.gpus else None,
    )


def _decimal(value: float) -> Decimal:
    return Decimal(repr(value)) if math.isfinite(value) else Decimal(0)


Points = Sequence[tuple[datetime, float]]


def mean_by_time(series: Sequence[Points]) -> list[tuple[datetime, float]]:
    """Several series as one: at each timestamp, the mean of the values there (a component's GPUs)."""
    by_time: dict[datetime, list[float]] = {}
    for points in series:
        for ts, value in points:
            by_time.setdefault(ts, []).append(value)
    return [(ts, sum(values) / len(values)) for ts, values in sorted(by_time.items())]


def busiest(points: Points) -> datetime | None:
    """The timestamp of the highest value (the earliest of equals), or None without data. The
    service reads hourly figures first, then ``PERIOD_S`` figures of each series' busiest hour
    only: a week of 5-minute data for every series would be twelve times the datapoints."""
    top: tuple[float, datetime] | None = None
    for ts, value in points:
        if top is None or value > top[0]:
            top = (value, ts)
    return top[1] if top is not None else None


def reduce_load(
    subject: Subject,
    invocations: Points,
    cpu: Points = (),
    gpus: Sequence[Points] = (),
    period_s: int = PERIOD_S,
    total: float | None = None,
) -> Load:
    """A subject's ``Load`` from its datapoints: invocations as ``PERIOD_S`` sums (``total``:
    the window's, when the points cover only its busiest hour); a variant's CPU (and GPU)
    utilization as ``PERIOD_S`` averages of the standard metrics, which sum the instance's
    units, so they are divided by its vCPUs (GPUs); a component's per-GPU series (already per
    GPU) averaged across GPUs at each timestamp."""
    total = sum(v for _, v in invocations) if total is None else total
    busiest = max((v for _, v in invocations), default=0.0)
    per_minute = (_decimal(busiest) * 60 / period_s).quantize(_RATE, ROUND_HALF_UP)
    cpu_peak: Decimal | None = None
    gpu_peak: Decimal | None = None
    if subject.kind is SubjectKind.VARIANT:
        if cpu and subject.vcpus:
            cpu_peak = (_decimal(max(v for _, v in cpu)) / subject.vcpus).quantize(_PCT, ROUND_HALF_UP)
        gpu_points = [p for series in gpus for p in series]
        if gpu_points and subject.gpus:
            gpu_peak = (_decimal(max(v for _, v in gpu_points)) / subject.gpus).quantize(_PCT, ROUND_HALF_UP)
    else:
        mean = mean_by_time(gpus)
        if mean:
            gpu_peak = max(_decimal(v) for _, v in mean).quantize(_PCT, ROUND_HALF_UP)
    return Load(invocations=round(total), peak_per_minute=per_minute, cpu_peak_pct=cpu_peak, gpu_peak_pct=gpu_peak)


# -- what comes out --------------------------------------------------------------------------


@dataclass(frozen=True)
class Recommendation:
    metric: str
    target: Decimal
    min_capacity: int
    max_capacity: int
    namespace: str | None = None
    """A customized metric's namespace (statistic Average, the subject's dimensions); None for a predefined one."""

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "namespace": self.namespace,
            "target": _plain(self.target),
            "min_capacity": self.min_capacity,
            "max_capacity": self.max_capacity,
        }


@dataclass(frozen=True)
class Advice:
    subject: Subject
    load: Load
    scaling: Scaling | None
    bound: Bound
    recommendation: Recommendation | None
    fits_count: int | None
    """The smaller count (instances, copies) the peak fits, or None."""
    fits_instance_type: str | None
    reason: str

    @property
    def scales(self) -> bool:
        return self.scaling is not None and self.scaling.scales

    @property
    def actionable(self) -> bool:
        """Worth a line in a digest: evidence-backed (compute or throughput) and either not
        scaling, tracking another metric than the one advised, or fitting something smaller."""
        if self.bound not in (Bound.COMPUTE, Bound.THROUGHPUT) or self.recommendation is None:
            return False
        tracked = self.scaling.tracked if self.scaling is not None else None
        follows = self.scales and tracked is not None and tracked.metric == self.recommendation.metric
        return not follows or self.fits_count is not None or self.fits_instance_type is not None

    def _current_policy(self) -> dict[str, Any] | None:
        if self.scaling is None:
            return None
        tracked = self.scaling.tracked
        return {
            "metric": tracked.metric if tracked is not None else None,
            "policy_type": tracked.policy_type if tracked is not None else None,
            "target": _plain(tracked.target) if tracked is not None and tracked.target is not None else None,
            "min_capacity": self.scaling.min_capacity,
            "max_capacity": self.scaling.max_capacity,
        }

    def to_json(self, where: Mapping[str, Any]) -> dict[str, Any]:
        s, load = self.subject, self.load
        common = {
            "scales": self.scales,
            "current_policy": self._current_policy(),
            "bound": self.bound.value,
            "recommendation": self.recommendation.to_json() if self.recommendation is not None else None,
        }
        measured = {
            "invocations": load.invocations,
            "peak_invocations_per_minute": str(load.peak_per_minute),
            "peak_cpu_utilization_pct": None if load.cpu_peak_pct is None else str(load.cpu_peak_pct),
            "peak_gpu_utilization_pct": None if load.gpu_peak_pct is None else str(load.gpu_peak_pct),
            "owner": s.owner,
            "reason": self.reason,
        }
        if s.kind is SubjectKind.COMPONENT:
            return {
                **where,
                "inference_component_name": s.component_name,
                "endpoint_name": s.endpoint_name,
                "variant_name": s.variant_name,
                "instance_type": s.instance_type,
                "copies": s.count,
                **common,
                "fits_copy_count": self.fits_count,
                **measured,
            }
        return {
            **where,
            "endpoint_name": s.endpoint_name,
            "variant_name": s.variant_name,
            "instance_type": s.instance_type,
            "instance_count": s.count,
            **common,
            "fits_instance_count": self.fits_count,
            "fits_instance_type": self.fits_instance_type,
            **measured,
        }


def _plain(value: Decimal) -> str:
    """A decimal as JSON carries it: ``"87.5"``, ``"280"``, never an exponent."""
    return f"{value.normalize():f}"


def _ceil(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def _pct(value: Decimal) -> str:
    return f"{value.normalize():f} %" if value == value.to_integral_value() else f"{value:f} %"


def _num(value: Decimal) -> str:
    shown = value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()
    return f"{shown:,f}"


def _fits(count: int, utilization: Decimal) -> int:
    """The instances (copies) a peak at ``utilization`` on ``count`` of them fits at the target."""
    by_utilization = _ceil(Decimal(count) * utilization / TARGET_UTILIZATION_PCT)
    return max(MIN_CAPACITY, by_utilization, -(-count // MAX_LOAD_GROWTH))


def smaller_type(instance_type: str, cpu_pct: Decimal | None, gpu_pct: Decimal | None) -> str | None:
    """The smallest type of ``instance_type``'s family whose vCPUs (and GPUs, for a GPU type)
    hold its peak at the target, each at most ``MAX_LOAD_GROWTH`` times as loaded; None when
    nothing smaller fits or the utilization it needs is unknown."""
    spec = INSTANCE_SPECS.get(instance_type)
    if spec is None or cpu_pct is None or (spec.gpus and gpu_pct is None):
        return None
    family = instance_type.rsplit(".", 1)[0] + "."
    need_cpus = max(_ceil(spec.vcpus * cpu_pct / TARGET_UTILIZATION_PCT), -(-spec.vcpus // MAX_LOAD_GROWTH), 1)
    need_gpus = 0
    if spec.gpus:
        assert gpu_pct is not None
        need_gpus = max(_ceil(spec.gpus * gpu_pct / TARGET_UTILIZATION_PCT), -(-spec.gpus // MAX_LOAD_GROWTH), 1)
    candidates = [
        (other.gpus, other.vcpus, name)
        for name, other in INSTANCE_SPECS.items()
        if name.startswith(family)
        and other.vcpus >= need_cpus
        and other.gpus >= need_gpus
        and (other.gpus == 0) == (spec.gpus == 0)
        and (other.gpus, other.vcpus) < (spec.gpus, spec.vcpus)
        and other.gpus <= spec.gpus
        and other.vcpus <= spec.vcpus
    ]
    return min(candidates)[2] if candidates else None


def advise(subject: Subject, load: Load, scaling: Scaling | None, lookback_hours: int) -> Advice:
    """The advice for one subject (the module's docstring holds the rules)."""
    unit = "copy" if subject.kind is SubjectKind.COMPONENT else "instance"
    units = plural(unit, 2)
    scales = scaling is not None and scaling.scales
    tracked = scaling.tracked if scaling is not None else None
    now_text = (
        f"scales on {tracked.metric or tracked.policy_type}"
        + (f" at {_num(tracked.target)}" if tracked.target is not None else "")
        + f" ({scaling.min_capacity}-{scaling.max_capacity} {units})"
        if scales and scaling is not None and tracked is not None
        else "does not scale"
    )

    def done(bound: Bound, recommendation: Recommendation | None, fits: int | None, fits_type: str | None, why: str) -> Advice:
        return Advice(subject, load, scaling, bound, recommendation, fits, fits_type, why)

    if load.invocations == 0:
        idle = f"no invocations in the last {lookback_hours} h: idle (see spendwatch scan); {now_text}"
        return done(Bound.IDLE, None, None, None, idle)
    count = max(subject.count, 0)
    per_unit = (load.peak_per_minute / count).quantize(_RATE, ROUND_HALF_UP) if count else load.peak_per_minute
    registered_min = scaling.min_capacity if scaling is not None else MIN_CAPACITY
    registered_max = scaling.max_capacity if scaling is not None else 0

    def throughput_policy(utilization: Decimal | None, resource: str) -> tuple[Recommendation, str]:
        metric = COMPONENT_INVOCATIONS_METRIC if subject.kind is SubjectKind.COMPONENT else VARIANT_INVOCATIONS_METRIC
        peak_text = f"the peak {_num(per_unit)} per {unit} per minute"
        if utilization is None:
            sustainable, how = per_unit * THROUGHPUT_HEADROOM, f"{_pct(THROUGHPUT_HEADROOM * 100)} of {peak_text}"
        else:
            limit = Decimal(MAX_LOAD_GROWTH)
            sustainable = per_unit * (min(TARGET_UTILIZATION_PCT / utilization, limit) if utilization else limit)
            how = f"{peak_text} scaled to {_pct(TARGET_UTILIZATION_PCT)} {resource}, at most {MAX_LOAD_GROWTH}x"
        target = max(_RATE, sustainable.quantize(_RATE, ROUND_FLOOR))
        needed = _ceil(load.peak_per_minute / target)
        recommendation = Recommendation(metric, target, registered_min, max(registered_max, count, needed))
        return recommendation, f"track {metric} at {_num(target)} ({how})"

    measured = [(load.gpu_peak_pct, "GPU"), (load.cpu_peak_pct, "CPU")]
    candidates = [(p, name) for p, name in measured if p is not None]
    if not candidates:
        recommendation, how = throughput_policy(None, "")
        return done(Bound.UNKNOWN, recommendation, None, None, f"no CPU or GPU utilization metrics, so {how}; {now_text}")
    peak, resource = max(candidates, key=lambda c: c[0])
    peak_text = f"{resource} peaks at {_pct(peak)}"
    if peak >= COMPUTE_BOUND_PCT:
        bound = Bound.COMPUTE
        if subject.kind is SubjectKind.COMPONENT:
            metric, namespace, per = mn.GPU_UTILIZATION, mn.ENHANCED_COMPONENTS_NAMESPACE, 1
        else:
            metric = mn.VARIANT_GPU_UTILIZATION if resource == "GPU" else mn.CPU_UTILIZATION
            namespace = mn.ENHANCED_ENDPOINTS_NAMESPACE
            per = (subject.gpus if resource == "GPU" else subject.vcpus) or 1
        target = TARGET_UTILIZATION_PCT * per
        needed = _ceil(Decimal(count) * peak / TARGET_UTILIZATION_PCT)
        recommendation = Recommendation(metric, target, registered_min, max(registered_max, count, needed), namespace)
        sums = f" of each of {per} {plural(resource, per)} ({_num(target)}: the metric sums them)" if per > 1 else ""
        how = f"track {metric} at {_pct(TARGET_UTILIZATION_PCT)}{sums}"
    else:
        bound = Bound.THROUGHPUT
        recommendation, how = throughput_policy(peak, resource)
    why = f"{bound.value}-bound: {peak_text}, {_num(per_unit)} invocations per {unit} per minute at the peak; {how}"
    fits: int | None = None
    fits_type: str | None = None
    if not scales:
        candidate = _fits(count, peak)
        if candidate < count:
            fits = candidate
            why += f"; the peak fits {candidate} {plural(unit, candidate)} at {_pct(TARGET_UTILIZATION_PCT)} {resource}"
        elif subject.kind is SubjectKind.VARIANT and subject.instance_type is not None:
            fits_type = smaller_type(subject.instance_type, load.cpu_peak_pct, load.gpu_peak_pct)
            if fits_type is not None:
                why += f"; the peak fits {fits_type} at {_pct(TARGET_UTILIZATION_PCT)}"
    return done(bound, recommendation, fits, fits_type, f"{why}; {now_text}")


def advise_all(
    found: Iterable[Subject], loads: Mapping[str, Load], scaling: Mapping[str, Scaling], lookback_hours: int
) -> tuple[Advice, ...]:
    """Advice for each subject; ``loads`` and ``scaling`` are keyed by the subject's resource id."""
    return tuple(advise(s, loads.get(s.resource_id, NO_LOAD), scaling.get(s.resource_id), lookback_hours) for s in found)


@dataclass(frozen=True)
class AdviceReport:
    advised_at: datetime
    lookback_hours: int
    region: str
    advice: tuple[Advice, ...]
    account_id: str = ""

    @property
    def variants(self) -> list[Advice]:
        return [a for a in self.advice if a.subject.kind is SubjectKind.VARIANT]

    @property
    def components(self) -> list[Advice]:
        return [a for a in self.advice if a.subject.kind is SubjectKind.COMPONENT]

    def to_json(self, home_account: str = "") -> dict[str, Any]:
        """The CLI contract's JSON: numbers with decimals as strings, times with Z."""
        where = {"account_id": self.account_id or home_account or None, "region": self.region}
        return {
            "advised_at": format_utc(self.advised_at),
            "lookback_hours": self.lookback_hours,
            **where,
            "endpoints": [a.to_json(where) for a in self.variants],
            "inference_components": [a.to_json(where) for a in self.components],
        }


# -- the digest's section -----------------------------------------------------------------------

DIGEST_LINES = 10


def digest_lines(advice: Mapping[str, Any] | None, team: str, untagged: str) -> list[str]:
    """The right-sizing advice of a stored report (``AdviceReport.to_json``) for ``team``, one
    line each, for the nightly digest: only evidence-backed advice (compute- or
    throughput-bound) where something would change. Empty when there is none."""
    if not advice:
        return []
    rows = []
    for row in [*advice.get("endpoints", []), *advice.get("inference_components", [])]:
        if (row.get("owner") or untagged) != team or row.get("bound") not in (Bound.COMPUTE, Bound.THROUGHPUT):
            continue
        recommendation = row.get("recommendation")
        current = row.get("current_policy") or {}
        follows = row.get("scales") and recommendation is not None and current.get("metric") == recommendation["metric"]
        fits = row.get("fits_instance_count") or row.get("fits_copy_count") or row.get("fits_instance_type")
        if recommendation is None or (follows and not fits):
            continue
        name = row.get("inference_component_name") or f"{row['endpoint_name']}/{row['variant_name']}"
        size = (
            f"{row['copies']} {plural('copy', row['copies'])}"
            if "copies" in row
            else f"{row['instance_count']} x {row['instance_type']}"
        )
        line = (
            f"{name} ({size}): {row['bound']}-bound, "
            f"target-track {recommendation['metric']} at {recommendation['target']} "
            f"(min {recommendation['min_capacity']}, max {recommendation['max_capacity']})"
        )
        if row.get("fits_instance_count"):
            line += f"; its peak fits {row['fits_instance_count']} {plural('instance', row['fits_instance_count'])}"
        elif row.get("fits_copy_count"):
            line += f"; its peak fits {row['fits_copy_count']} {plural('copy', row['fits_copy_count'])}"
        elif row.get("fits_instance_type"):
            line += f"; its peak fits {row['fits_instance_type']}"
        rows.append(line)
    if not rows:
        return []
    shown = rows[:DIGEST_LINES]
    more = len(rows) - len(shown)
    return [
        "Right-sizing advice (never applied automatically; details: spendwatch advise):",
        *(f"- {line}" for line in shown),
        *([f"- and {more} more"] if more else []),
    ]
