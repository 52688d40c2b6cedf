"""Classification of endpoints and inference components by their traffic: the pure core
of the idle scan. Inventory, usage and prices go in; a ``ScanReport`` comes out.

Statuses, the first that applies wins (the CLI contract):

* endpoint: ``excluded`` (tag ``spendwatch:ignore=true``), ``not-in-service``, ``active``
  (any invocation in the window on any variant or component), ``new`` (created inside the
  window), else ``idle``.
* component: ``excluded`` (its own or its endpoint's tag), ``active``, ``new``, else ``idle``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from spendwatch.core.inventory import Endpoint, EndpointKind, InferenceComponent, Inventory, place
from spendwatch.core.money import ZERO, format_money
from spendwatch.core.pricing import PriceBook
from spendwatch.core.timestamps import format_utc
from spendwatch.core.usage import NO_USAGE, ResourceKind, Usage, UsageKey

TEAM_TAG = "team"


class Status(StrEnum):
    EXCLUDED = "excluded"
    NOT_IN_SERVICE = "not-in-service"
    ACTIVE = "active"
    NEW = "new"
    IDLE = "idle"


@dataclass(frozen=True)
class Cost:
    """What a resource costs per hour now; ``usd_per_hour`` is None when a price is unknown."""

    usd_per_hour: Decimal | None
    unpriced_instance_types: tuple[str, ...] = ()
    price_source: str | None = None


@dataclass(frozen=True, kw_only=True)
class Classified:
    """What the scan says of any resource, endpoint or component."""

    status: Status
    invocations: int
    cost: Cost
    idle_since: datetime | None
    owner: str | None
    suggested_action: str | None


@dataclass(frozen=True, kw_only=True)
class EndpointFinding(Classified):
    endpoint: Endpoint


@dataclass(frozen=True, kw_only=True)
class ComponentFinding(Classified):
    component: InferenceComponent
    instance_type: str | None


@dataclass(frozen=True)
class ScanReport:
    region: str
    scanned_at: datetime
    lookback_hours: int
    endpoints: tuple[EndpointFinding, ...]
    components: tuple[ComponentFinding, ...]
    history_hours: int = 0
    """How far back the last invocation was looked for (idle_since)."""
    account_id: str = ""
    """"" for the account spendwatch runs in (``Inventory.account_id``)."""

    @property
    def place(self) -> str:
        return place(self.account_id, self.region)

    @property
    def idle_endpoints(self) -> list[EndpointFinding]:
        return [f for f in self.endpoints if f.status is Status.IDLE]

    @property
    def idle_components(self) -> list[ComponentFinding]:
        return [f for f in self.components if f.status is Status.IDLE]

    @property
    def idle_hourly_cost(self) -> Decimal:
        """What idle resources burn per hour, counted once: idle endpoints whole, plus idle
        components on endpoints that are not themselves idle. Unpriced resources add nothing
        here and are counted in ``unpriced_instance_types``."""
        idle_endpoint_names = {f.endpoint.name for f in self.idle_endpoints}
        total = sum((f.cost.usd_per_hour or ZERO for f in self.idle_endpoints), ZERO)
        total += sum(
            (f.cost.usd_per_hour or ZERO for f in self.idle_components if f.component.endpoint_name not in idle_endpoint_names),
            ZERO,
        )
        return total

    @property
    def unpriced_instance_types(self) -> list[str]:
        found = {t for f in self.endpoints for t in f.cost.unpriced_instance_types}
        found |= {t for f in self.components for t in f.cost.unpriced_instance_types}
        return sorted(found)

    def to_json(self, home_account: str = "") -> dict[str, Any]:
        """The report as the CLI contract's JSON (money as decimal strings, times with Z);
        every row names its account (``home_account`` for the one spendwatch runs in) and region."""
        where = {"account_id": self.account_id or home_account or None, "region": self.region}
        return {
            "scanned_at": format_utc(self.scanned_at),
            "lookback_hours": self.lookback_hours,
            "history_hours": self.history_hours,
            **where,
            "summary": {
                "endpoints": len(self.endpoints),
                "idle_endpoints": len(self.idle_endpoints),
                "inference_components": len(self.components),
                "idle_inference_components": len(self.idle_components),
                "idle_hourly_cost_usd": format_money(self.idle_hourly_cost),
                "unpriced_instance_types": self.unpriced_instance_types,
            },
            "endpoints": [{**where, **_endpoint_json(f)} for f in self.endpoints],
            "inference_components": [{**where, **_component_json(f)} for f in self.components],
        }


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format_money(value)


def _time(value: datetime | None) -> str | None:
    return None if value is None else format_utc(value)


def _endpoint_json(f: EndpointFinding) -> dict[str, Any]:
    e = f.endpoint
    return {
        "endpoint_name": e.name,
        "status": f.status.value,
        "invocations": f.invocations,
        "hourly_cost_usd": _money(f.cost.usd_per_hour),
        "idle_since": _time(f.idle_since),
        "kind": e.kind.value,
        "endpoint_status": e.status,
        "created_at": _time(e.created_at),
        "owner": f.owner,
        "instance_types": sorted({v.instance_type for v in e.variants if v.instance_type}),
        "instance_count": sum(v.instance_count for v in e.variants),
        "hosts_inference_components": e.hosts_components,
        "enhanced_metrics": e.metrics.enhanced,
        "priced": f.cost.usd_per_hour is not None,
        "unpriced_instance_types": list(f.cost.unpriced_instance_types),
        "price_source": f.cost.price_source,
        "suggested_action": f.suggested_action,
        "tags": dict(sorted(e.tags.items())),
    }


def _component_json(f: ComponentFinding) -> dict[str, Any]:
    c = f.component
    return {
        "inference_component_name": c.name,
        "endpoint_name": c.endpoint_name,
        "status": f.status.value,
        "invocations": f.invocations,
        "hourly_cost_usd": _money(f.cost.usd_per_hour),
        "idle_since": _time(f.idle_since),
        "variant_name": c.variant_name,
        "model_name": c.model_name,
        "created_at": _time(c.created_at),
        "owner": f.owner,
        "instance_type": f.instance_type,
        "copies": c.copies,
        "accelerators_per_copy": c.accelerators_per_copy,
        "cpu_cores_per_copy": c.cpu_cores_per_copy,
        "priced": f.cost.usd_per_hour is not None,
        "unpriced_instance_types": list(f.cost.unpriced_instance_types),
        "price_source": f.cost.price_source,
        "suggested_action": f.suggested_action,
        "tags": dict(sorted(c.tags.items())),
    }


def classify(
    inventory: Inventory,
    usage: Mapping[UsageKey, Usage],
    prices: PriceBook,
    now: datetime,
    lookback_hours: int,
) -> ScanReport:
    """Classify every endpoint and component; ``now`` is the end of the lookback window."""
    window_start = now - timedelta(hours=lookback_hours)
    component_findings: list[ComponentFinding] = []
    endpoint_findings: list[EndpointFinding] = []
    for endpoint in inventory.endpoints:
        components = inventory.components_of(endpoint.name)
        own_findings = [_classify_component(endpoint, c, usage, prices, window_start) for c in components]
        component_findings.extend(own_findings)
        endpoint_findings.append(_classify_endpoint(endpoint, own_findings, usage, prices, window_start))
    return ScanReport(
        account_id=inventory.account_id,
        region=inventory.region,
        scanned_at=now,
        lookback_hours=lookback_hours,
        endpoints=tuple(endpoint_findings),
        components=tuple(component_findings),
    )


def _classify_endpoint(
    endpoint: Endpoint,
    components: list[ComponentFinding],
    usage: Mapping[UsageKey, Usage],
    prices: PriceBook,
    window_start: datetime,
) -> EndpointFinding:
    own = [usage.get(UsageKey(ResourceKind.VARIANT, endpoint.name, v.name), NO_USAGE) for v in endpoint.variants]
    if endpoint.kind is EndpointKind.ASYNC:
        own.append(usage.get(UsageKey(ResourceKind.ASYNC_QUEUE, endpoint.name, endpoint.name), NO_USAGE))
    component_usage = [usage.get(_component_key(f.component), NO_USAGE) for f in components]
    # Requests to a component may also be counted on its variant: never count them twice.
    invocations = max(sum(u.invocations for u in own), sum(u.invocations for u in component_usage))
    active = any(u.active for u in own + component_usage)
    last = _latest(u.last_activity_end for u in own + component_usage)

    if endpoint.excluded:
        status = Status.EXCLUDED
    elif endpoint.status != "InService":
        status = Status.NOT_IN_SERVICE
    elif active:
        status = Status.ACTIVE
    elif endpoint.created_at >= window_start:
        status = Status.NEW
    else:
        status = Status.IDLE
    return EndpointFinding(
        endpoint=endpoint,
        status=status,
        invocations=invocations,
        cost=endpoint_cost(endpoint, prices),
        idle_since=None if active else last,
        owner=endpoint.tags.get(TEAM_TAG),
        suggested_action=_endpoint_action(endpoint) if status is Status.IDLE else None,
    )


def _classify_component(
    endpoint: Endpoint,
    component: InferenceComponent,
    usage: Mapping[UsageKey, Usage],
    prices: PriceBook,
    window_start: datetime,
) -> ComponentFinding:
    used = usage.get(_component_key(component), NO_USAGE)
    if component.excluded or endpoint.excluded:
        status = Status.EXCLUDED
    elif used.active:
        status = Status.ACTIVE
    elif component.created_at >= window_start:
        status = Status.NEW
    else:
        status = Status.IDLE
    variant = next((v for v in endpoint.variants if v.name == component.variant_name), None)
    instance_type = variant.instance_type if variant else None
    return ComponentFinding(
        component=component,
        instance_type=instance_type,
        status=status,
        invocations=used.invocations,
        cost=component_cost(component, instance_type, prices),
        idle_since=used.last_activity_end,
        owner=component.tags.get(TEAM_TAG, endpoint.tags.get(TEAM_TAG)),
        suggested_action=("scale copies to zero" if status is Status.IDLE and component.copies > 0 else None),
    )


def endpoint_cost(endpoint: Endpoint, prices: PriceBook) -> Cost:
    """Instances x price per hour, summed over variants. Serverless variants bill per
    request: they cost nothing per hour while idle."""
    total = ZERO
    unpriced: list[str] = []
    sources: set[str] = set()
    for variant in endpoint.variants:
        if variant.instance_type is None or variant.instance_count == 0:
            continue
        price = prices.price(variant.instance_type)
        if price is None:
            unpriced.append(variant.instance_type)
            continue
        total += price.usd_per_hour * variant.instance_count
        sources.add(price.source)
    if unpriced:
        return Cost(None, tuple(sorted(set(unpriced))))
    return Cost(total, (), "; ".join(sorted(sources)) or None)


def component_cost(component: InferenceComponent, instance_type: str | None, prices: PriceBook) -> Cost:
    """Copies x accelerators x price per GPU-hour; CPU-only: copies x cores x price per vCPU-hour."""
    if instance_type is None:
        return Cost(ZERO)
    price = prices.price(instance_type)
    if price is None or prices.spec(instance_type) is None:
        return Cost(None, (instance_type,))
    if component.accelerators_per_copy > 0:
        rate = prices.per_gpu_hour(instance_type)
        units = Decimal(str(component.accelerators_per_copy))
    else:
        rate = prices.per_vcpu_hour(instance_type)
        units = Decimal(str(component.cpu_cores_per_copy))
    if rate is None:  # accelerators asked of an instance type without GPUs: a bad spec
        return Cost(None, (instance_type,))
    return Cost(rate * units * component.copies, (), price.source)


def _component_key(component: InferenceComponent) -> UsageKey:
    return UsageKey(ResourceKind.COMPONENT, component.endpoint_name, component.name)


def _latest(values: Iterable[datetime | None]) -> datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _endpoint_action(endpoint: Endpoint) -> str:
    if endpoint.kind is EndpointKind.SERVERLESS:
        return "delete endpoint (serverless: no idle cost)"
    if endpoint.hosts_components:
        return "enable scale to zero, or delete endpoint"
    return "delete endpoint"
