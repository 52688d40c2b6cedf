"""Traffic of each resource over the lookback window, as plain values.

The core says *which* series describe a resource's traffic (``usage_series``); the
CloudWatch adapter reads them in batches and hands back one ``Usage`` per resource.
A resource whose series do not exist in CloudWatch simply has zero invocations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from spendwatch.core import metricnames as mn
from spendwatch.core.inventory import EndpointKind, Inventory


class ResourceKind(StrEnum):
    VARIANT = "variant"
    COMPONENT = "component"
    ASYNC_QUEUE = "async-queue"


@dataclass(frozen=True, order=True)
class UsageKey:
    """One resource whose traffic is read: a variant, a component, or an async endpoint's queue."""

    kind: ResourceKind
    endpoint_name: str
    name: str


@dataclass(frozen=True)
class MetricSeries:
    """One CloudWatch series; ``counts`` series are summed into invocations, the others only
    show activity (a datapoint above zero)."""

    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]
    counts: bool = True

    @property
    def stat(self) -> str:
        return "Sum" if self.counts else "Maximum"


@dataclass(frozen=True)
class Usage:
    invocations: int
    """Invocations inside the lookback window."""
    active: bool
    """Any traffic (or async backlog) inside the lookback window."""
    last_activity_end: datetime | None
    """End of the last minute with traffic within the available history, if any is known."""


NO_USAGE = Usage(invocations=0, active=False, last_activity_end=None)


def usage_series(inventory: Inventory) -> dict[UsageKey, tuple[MetricSeries, ...]]:
    """Every series that tells whether a resource of the inventory was used, starting from
    the inventory (never from ListMetrics, which forgets exactly the idle resources)."""
    series: dict[UsageKey, tuple[MetricSeries, ...]] = {}
    for endpoint in inventory.endpoints:
        for variant in endpoint.variants:
            series[UsageKey(ResourceKind.VARIANT, endpoint.name, variant.name)] = (
                MetricSeries(
                    mn.SAGEMAKER_NAMESPACE,
                    mn.INVOCATIONS,
                    ((mn.DIM_ENDPOINT, endpoint.name), (mn.DIM_VARIANT, variant.name)),
                ),
            )
        if endpoint.kind is EndpointKind.ASYNC:
            dims = ((mn.DIM_ENDPOINT, endpoint.name),)
            series[UsageKey(ResourceKind.ASYNC_QUEUE, endpoint.name, endpoint.name)] = (
                *(MetricSeries(mn.SAGEMAKER_NAMESPACE, name, dims) for name in mn.ASYNC_PROCESSED_METRICS),
                MetricSeries(mn.SAGEMAKER_NAMESPACE, mn.ASYNC_BACKLOG, dims, counts=False),
            )
    for component in inventory.components:
        series[UsageKey(ResourceKind.COMPONENT, component.endpoint_name, component.name)] = (
            MetricSeries(
                mn.SAGEMAKER_NAMESPACE,
                mn.INVOCATIONS,
                ((mn.DIM_COMPONENT, component.name),),
            ),
        )
    return series
