"""What a region holds: endpoints, their variants and inference components, as plain values.

The SageMaker adapter (``spendwatch.aws.sagemaker``) builds these from the API; the core
reads nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property

IGNORE_TAG = "spendwatch:ignore"


class EndpointKind(StrEnum):
    REAL_TIME = "real-time"
    ASYNC = "async"
    SERVERLESS = "serverless"


@dataclass(frozen=True)
class MetricsConfig:
    """The endpoint config's ``MetricsConfig``."""

    enhanced: bool = False
    publish_frequency_s: int = 60


@dataclass(frozen=True)
class Variant:
    name: str
    instance_type: str | None
    """None for a serverless variant."""
    instance_count: int
    """CurrentInstanceCount now (0 when the endpoint reports none)."""
    hosts_components: bool
    """True when the variant hosts inference components (even none deployed yet)."""
    serverless_memory_mb: int | None = None
    serverless_max_concurrency: int | None = None
    model_name: str | None = None
    """The model of a classic variant (None when it hosts components)."""


@dataclass(frozen=True)
class InferenceComponent:
    name: str
    arn: str
    endpoint_name: str
    variant_name: str
    created_at: datetime
    status: str
    model_name: str | None
    accelerators_per_copy: float
    cpu_cores_per_copy: float
    memory_mb_per_copy: int
    copies: int
    """CurrentCopyCount now."""
    tags: dict[str, str] = field(default_factory=dict)
    deleted_at: datetime | None = None
    """When it was deleted (CloudTrail's event history), for a component the meter remembers."""
    last_modified: datetime | None = None
    """LastModifiedTime as listed: the meter re-describes a component only when it moved."""

    @property
    def excluded(self) -> bool:
        return is_ignored(self.tags)


@dataclass(frozen=True)
class Endpoint:
    name: str
    arn: str
    status: str
    created_at: datetime
    kind: EndpointKind
    config_name: str
    metrics: MetricsConfig
    variants: tuple[Variant, ...]
    tags: dict[str, str] = field(default_factory=dict)
    deleted_at: datetime | None = None
    """When it was deleted (CloudTrail's event history), for an endpoint the meter remembers."""
    last_modified: datetime | None = None
    """LastModifiedTime as listed: the meter re-describes an endpoint only when it moved."""

    @property
    def excluded(self) -> bool:
        return is_ignored(self.tags)

    @property
    def hosts_components(self) -> bool:
        return any(v.hosts_components for v in self.variants)


@dataclass(frozen=True)
class Inventory:
    region: str
    endpoints: tuple[Endpoint, ...]
    components: tuple[InferenceComponent, ...]
    components_listed: bool = True
    """False where ListInferenceComponents is not available (classic endpoints only)."""
    account_id: str = ""
    """The account: "" for the account spendwatch runs in (its ledger keys are the region
    alone, as they always were), the id for another account of an organization."""

    @property
    def place(self) -> str:
        return place(self.account_id, self.region)

    @cached_property
    def _by_endpoint(self) -> dict[str, list[InferenceComponent]]:
        # Indexed once: finding an endpoint's components must not scan them all (linear runs).
        index: dict[str, list[InferenceComponent]] = {}
        for component in self.components:
            index.setdefault(component.endpoint_name, []).append(component)
        return index

    @cached_property
    def _endpoints(self) -> dict[str, Endpoint]:
        return {e.name: e for e in self.endpoints}

    def components_of(self, endpoint_name: str) -> list[InferenceComponent]:
        return list(self._by_endpoint.get(endpoint_name, ()))

    def endpoint(self, name: str) -> Endpoint:
        return self._endpoints[name]


def place(account_id: str, region: str) -> str:
    """Where a resource lives, as the ledger keys it: the region for the account spendwatch
    runs in (``account_id`` ""), ``<account>:<region>`` for another account."""
    return f"{account_id}:{region}" if account_id else region


Window = tuple[datetime, datetime]


def existed(created_at: datetime, deleted_at: datetime | None, start: datetime, end: datetime) -> Window | None:
    """The part of ``[start, end)`` a resource existed in (``[created_at, deleted_at)``), or None."""
    lo = max(start, created_at)
    hi = min(end, deleted_at) if deleted_at is not None else end
    return (lo, hi) if lo < hi else None


def is_ignored(tags: dict[str, str]) -> bool:
    """``spendwatch:ignore`` = ``true`` (any case, surrounding blanks ignored)."""
    return tags.get(IGNORE_TAG, "").strip().lower() == "true"
