"""GPU cost metering: the pure core. Measured GPU-, core- and instance-seconds and prices
go in; cost records come out, one per (resource, interval).

For each endpoint variant and interval (cost semantics of docs/fleet-spec.md):

* a component's GPU-seconds = its GPU samples x the publish frequency (enhanced metrics,
  ``basis: metrics``), or copies x accelerators x seconds (``basis: allocation``); its cost is
  GPU-seconds x P / G / 3600. A CPU-only component is charged reserved core-seconds x P / V / 3600;
* unallocated = the instances' capacity minus what components held, at the same rate;
* a classic variant is charged whole: instance-seconds x P / 3600;
* serverless endpoints bill per request and are not metered: they are reported as such,
  never silently charged zero; an unpriced instance type is reported and writes no record.

Conservation holds exactly: for every endpoint variant and interval, component costs plus
unallocated equal the instances' cost, to the micro-dollar, because the instances' cost is
rounded once and then divided among the records by the largest-remainder method.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal, localcontext
from enum import StrEnum
from typing import Any

from spendwatch.core.errors import InputError
from spendwatch.core.inventory import Endpoint, EndpointKind, InferenceComponent, Inventory, Variant, existed, place
from spendwatch.core.money import MONEY_PLACES
from spendwatch.core.pricing import PriceBook

QUANTUM = Decimal(1).scaleb(-MONEY_PLACES)  # one micro-dollar
TAG_KEYS = ("team", "cost-center", "project")


class RecordKind(StrEnum):
    COMPONENT = "component"
    UNALLOCATED = "unallocated"
    ENDPOINT = "endpoint"


class Basis(StrEnum):
    METRICS = "metrics"
    ALLOCATION = "allocation"


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())


def validate_interval_minutes(minutes: int, field_name: str) -> int:
    if minutes < 1 or 1440 % minutes:
        raise InputError(field_name, f"must divide a day into whole intervals (e.g. 5, 15, 60, 1440), got {minutes}")
    return minutes


def intervals(start: datetime, end: datetime, minutes: int) -> list[Interval]:
    """Consecutive intervals of ``minutes`` covering ``[start, end)`` (the last may not pass end)."""
    step = timedelta(minutes=minutes)
    out = []
    cursor = start
    while cursor + step <= end:
        out.append(Interval(cursor, cursor + step))
        cursor += step
    return out


@dataclass(frozen=True)
class VariantSamples:
    """What CloudWatch says about one variant in one interval. ``None`` means no enhanced
    metric exists for it, so allocation (current counts) stands in."""

    instance_samples: int | None = None
    gpu_samples: Mapping[str, int] | None = None  # component name -> GPU samples
    sampled: frozenset[datetime] | None = None
    """Starts of the buckets of ``bucket_s`` seconds in which some instance of the variant
    published a sample; None when unknown (then samples are trusted)."""
    bucket_s: int = 60


def metrics_retention(age: timedelta) -> int:
    """The finest period (seconds) CloudWatch still holds for data this old: 1-minute data
    lives 15 days, 5-minute data 63 days, hourly data 455 days."""
    if age < timedelta(days=15):
        return 60
    if age < timedelta(days=63):
        return 300
    return 3600


METRICS_RETENTION = timedelta(days=455)


def metrics_complete(measured: VariantSamples | None, window: tuple[datetime, datetime]) -> bool:
    """Whether enhanced samples cover every whole bucket of ``window`` (the seconds the
    endpoint existed in the interval): a bucket without any instance's sample means data
    was late or lost, and the samples would be a silent undercount."""
    if measured is None or measured.instance_samples is None:
        return False
    if measured.sampled is None:
        return measured.instance_samples > 0
    step = timedelta(seconds=measured.bucket_s)
    midnight = window[0].replace(hour=0, minute=0, second=0, microsecond=0)
    cursor = midnight + -((midnight - window[0]) // step) * step  # first bucket start at or after the window's start
    while cursor + step <= window[1]:
        if cursor not in measured.sampled:
            return False
        cursor += step
    return True


@dataclass(frozen=True, slots=True)
class CostRecord:
    region: str
    interval_start: datetime
    interval_end: datetime
    endpoint_name: str
    variant_name: str
    kind: RecordKind
    inference_component_name: str | None
    model_name: str | None
    instance_type: str
    gpu_seconds: Decimal
    core_seconds: Decimal
    instance_seconds: Decimal
    cost_usd: Decimal
    basis: Basis
    price_usd_per_hour: Decimal
    price_source: str
    tags: dict[str, str] = field(default_factory=dict)
    correction: int = 0
    """0 for the record as first metered; n for its n-th correction, whose figures are the
    differences to add (FOCUS ``ChargeClass: Correction``). Records are never rewritten."""
    account_id: str = ""
    """The account ("" for the one spendwatch runs in: see ``inventory.place``)."""

    @property
    def place(self) -> str:
        """The ledger partition it belongs to: its account and region."""
        return place(self.account_id, self.region)

    @property
    def resource(self) -> str:
        """Stable identity of the charged resource within an endpoint."""
        return f"{self.variant_name}#{self.kind.value}#{self.inference_component_name or '-'}"

    @property
    def entry(self) -> str:
        """The resource, and which correction of it this is: unique per interval."""
        return self.resource if not self.correction else f"{self.resource}#c{self.correction:03d}"

    def key(self, by: str) -> str | None:
        """The value this record is grouped under for ``--by``."""
        if by == "endpoint":
            return self.endpoint_name
        if by == "component":
            return self.inference_component_name
        if by == "model":
            return self.model_name
        return self.tags.get(by)


@dataclass(frozen=True)
class Finding:
    endpoint_name: str
    kind: str  # unpriced | serverless-unmetered | over-allocated | metrics-missing | deletion-time-unknown
    message: str


@dataclass
class MeterResult:
    records: list[CostRecord] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def resolved_tags(endpoint: Endpoint, component: InferenceComponent | None) -> dict[str, str]:
    """A component's own tags, falling back to its endpoint's key by key; others: the endpoint's."""
    tags = dict(endpoint.tags)
    if component is not None:
        tags.update(component.tags)
    return {k: v for k, v in tags.items() if k in TAG_KEYS}


def meter(
    inventory: Inventory,
    samples: Mapping[tuple[str, str, datetime], VariantSamples],
    prices: PriceBook,
    interval: Interval,
) -> MeterResult:
    """Cost records of every endpoint variant for one interval. ``samples`` is keyed by
    (endpoint, variant, interval start)."""
    result = MeterResult()
    for endpoint in inventory.endpoints:
        window = existed(endpoint.created_at, endpoint.deleted_at, interval.start, interval.end)
        if window is None:
            continue  # it did not exist during the interval: nothing to charge, ever
        if endpoint.kind is EndpointKind.SERVERLESS:
            result.findings.append(
                Finding(
                    endpoint.name,
                    "serverless-unmetered",
                    "serverless endpoint: billed per request and per GB-second; see Cost Explorer, not metered here",
                )
            )
            continue
        components = inventory.components_of(endpoint.name)
        for variant in endpoint.variants:
            if variant.instance_type is None:
                continue
            measured = samples.get((endpoint.name, variant.name, interval.start))
            if endpoint.metrics.enhanced and variant.instance_count > 0 and not metrics_complete(measured, window):
                result.findings.append(
                    Finding(
                        endpoint.name,
                        "metrics-missing",
                        f"enhanced samples of {variant.name} missing during {interval.start:%Y-%m-%dT%H:%MZ}: "
                        "charged by allocation (current counts) until the daily settle pass finds them",
                    )
                )
                measured = None
            own = [c for c in components if c.variant_name == variant.name]
            measured = measured or VariantSamples()
            _meter_variant(result, inventory, endpoint, variant, own, measured, prices, interval, window)
    return result


def _meter_variant(
    result: MeterResult,
    inventory: Inventory,
    endpoint: Endpoint,
    variant: Variant,
    components: list[InferenceComponent],
    measured: VariantSamples,
    prices: PriceBook,
    interval: Interval,
    window: tuple[datetime, datetime],
) -> None:
    instance_type = variant.instance_type
    assert instance_type is not None
    price, spec = prices.price(instance_type), prices.spec(instance_type)
    frequency = endpoint.metrics.publish_frequency_s
    if measured.instance_samples is not None:
        instance_seconds = Decimal(measured.instance_samples * frequency)
        instance_basis = Basis.METRICS
    else:
        instance_seconds = Decimal(variant.instance_count * _seconds(window))
        instance_basis = Basis.ALLOCATION
    if instance_seconds == 0:
        return  # no instance ran: nothing to charge
    if price is None or (variant.hosts_components and spec is None):
        result.findings.append(
            Finding(
                endpoint.name,
                "unpriced",
                f"{instance_type} has no known price{'' if spec else ' or hardware'}: "
                f"{instance_seconds} instance-seconds of {variant.name} not charged",
            )
        )
        return
    rate = price.usd_per_hour
    base: dict[str, Any] = {
        "region": inventory.region,
        "account_id": inventory.account_id,
        "interval_start": interval.start,
        "interval_end": interval.end,
        "endpoint_name": endpoint.name,
        "variant_name": variant.name,
        "instance_type": instance_type,
        "price_usd_per_hour": rate,
        "price_source": price.source,
    }
    with localcontext() as ctx:
        ctx.prec = 60
        total = instance_seconds * rate / 3600
        if not variant.hosts_components:
            gpus = spec.gpus if spec else 0
            result.records.append(
                CostRecord(
                    **base,
                    kind=RecordKind.ENDPOINT,
                    inference_component_name=None,
                    model_name=variant.model_name,
                    gpu_seconds=instance_seconds * gpus,
                    core_seconds=instance_seconds * (spec.vcpus if spec else 0),
                    instance_seconds=instance_seconds,
                    cost_usd=_round(total),
                    basis=instance_basis,
                    tags=resolved_tags(endpoint, None),
                )
            )
            return
        assert spec is not None
        gpu_instance = spec.gpus > 0
        held: list[tuple[InferenceComponent, Decimal, Decimal, Basis, Decimal]] = []
        for component in components:
            gpu_s, core_s, basis = _held(component, measured, frequency, window)
            if gpu_s == 0 and core_s == 0:
                continue
            if component.accelerators_per_copy > 0 and gpu_instance:
                exact = gpu_s * rate / spec.gpus / 3600
            else:
                exact = core_s * rate / spec.vcpus / 3600 if spec.vcpus else Decimal(0)
            held.append((component, gpu_s, core_s, basis, exact))
        claimed = sum((h[4] for h in held), Decimal(0))
        if claimed > total:
            result.findings.append(
                Finding(
                    endpoint.name,
                    "over-allocated",
                    f"components held more than {variant.name}'s instances during {interval.start:%Y-%m-%dT%H:%MZ}: "
                    "their costs were scaled to the instances' cost",
                )
            )
            held = [(c, g, k, b, e * total / claimed) for c, g, k, b, e in held]
            claimed = total
        shares = [h[4] for h in held] + [total - claimed]
        costs = largest_remainder(shares, _round(total))
        for (component, gpu_s, core_s, basis, _), cost in zip(held, costs, strict=False):
            result.records.append(
                CostRecord(
                    **base,
                    kind=RecordKind.COMPONENT,
                    inference_component_name=component.name,
                    model_name=component.model_name,
                    gpu_seconds=gpu_s,
                    core_seconds=core_s,
                    instance_seconds=instance_seconds,
                    cost_usd=cost,
                    basis=basis,
                    tags=resolved_tags(endpoint, component),
                )
            )
        free_gpu_s = max(Decimal(0), instance_seconds * spec.gpus - sum((h[1] for h in held), Decimal(0)))
        free_core_s = max(Decimal(0), instance_seconds * spec.vcpus - sum((h[2] for h in held), Decimal(0)))
        result.records.append(
            CostRecord(
                **base,
                kind=RecordKind.UNALLOCATED,
                inference_component_name=None,
                model_name=None,
                gpu_seconds=free_gpu_s if gpu_instance else Decimal(0),
                core_seconds=free_core_s,
                instance_seconds=instance_seconds,
                cost_usd=costs[-1],
                basis=instance_basis,
                tags=resolved_tags(endpoint, None),
            )
        )


def _seconds(window: tuple[datetime, datetime] | None) -> int:
    return int((window[1] - window[0]).total_seconds()) if window else 0


def _held(
    component: InferenceComponent, measured: VariantSamples, frequency: int, window: tuple[datetime, datetime]
) -> tuple[Decimal, Decimal, Basis]:
    """(GPU-seconds, core-seconds, basis) a component held during its endpoint's ``window``
    of the interval: by its samples, or by allocation over the seconds it existed."""
    seconds = Decimal(_seconds(existed(component.created_at, component.deleted_at, *window)))
    cores = Decimal(str(component.cpu_cores_per_copy)) * component.copies * seconds
    if component.accelerators_per_copy > 0 and measured.gpu_samples is not None:
        gpu_s = Decimal(measured.gpu_samples.get(component.name, 0) * frequency)
        # Cores follow the GPUs actually held (copies running), not the current copy count.
        per_gpu_cores = Decimal(str(component.cpu_cores_per_copy)) / Decimal(str(component.accelerators_per_copy))
        return gpu_s, gpu_s * per_gpu_cores, Basis.METRICS
    gpu_s = Decimal(str(component.accelerators_per_copy)) * component.copies * seconds
    return gpu_s, cores, Basis.ALLOCATION


def _round(value: Decimal) -> Decimal:
    return value.quantize(QUANTUM)  # half-even, the context default


def largest_remainder(shares: list[Decimal], total: Decimal, quantum: Decimal = QUANTUM) -> list[Decimal]:
    """Divide ``total`` (a whole number of quanta) among ``shares`` in proportion, in whole
    quanta, so the parts add up to ``total`` exactly (Hamilton's method)."""
    if not shares:
        return []
    whole = sum(shares, Decimal(0))
    units = int(total / quantum)
    if whole == 0:
        return [Decimal(0)] * (len(shares) - 1) + [total]
    with localcontext() as ctx:
        ctx.prec = 60
        exact = [s / whole * units for s in shares]
    floors = [int(e.to_integral_value(rounding=ROUND_FLOOR)) for e in exact]
    left = units - sum(floors)
    order = sorted(range(len(shares)), key=lambda i: (exact[i] - floors[i], -i), reverse=True)
    for i in order[:left]:
        floors[i] += 1
    return [quantum * n for n in floors]
