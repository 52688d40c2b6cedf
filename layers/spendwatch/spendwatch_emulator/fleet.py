"""The fleet spec (version 1): a JSON description of a SageMaker estate over time.

``load_fleet`` reads and validates a file; every error names the field at fault
(``endpoints[1].variants[0].instance_count[2].from``). The emulated AWS
(``spendwatch_emulator.emulator``) is seeded from a ``Fleet``. The format is documented in
``docs/fleet-spec.md``.

A fleet is one or more *estates*: an account's region with its endpoints. A fleet with an
``estates`` list holds an organization (many accounts and regions); a fleet without one holds
exactly one estate, made of its top-level ``account_id``, ``region`` and ``endpoints``.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from spendwatch.core.errors import InputError
from spendwatch.core.money import parse_money
from spendwatch.core.pricing import INSTANCE_SPECS
from spendwatch.core.timestamps import parse_utc
from spendwatch.services.files import read_text

PUBLISH_FREQUENCIES = (10, 30, 60, 120, 180, 240, 300)
SERVERLESS_MEMORY_MB = (1024, 2048, 3072, 4096, 5120, 6144)


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO-8601 UTC timestamp string, got {value!r}")
    try:
        return parse_utc(value, "timestamp")
    except InputError as exc:  # pydantic attaches the field path to ValueErrors only
        raise ValueError(exc.message) from None


Timestamp = Annotated[datetime, BeforeValidator(_utc)]


MAX_COUNT = 1000  # instances of a variant, copies of a component: far above any account's quota


class _Model(BaseModel):
    # strict: a count given as "2" or true is a mistake in the file, not something to coerce
    # finite: Infinity and NaN (which json.loads accepts) are never a count, a rate or a share
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True, allow_inf_nan=False)


class Step(_Model):
    start: Timestamp = Field(alias="from")
    count: int = Field(ge=0, le=MAX_COUNT)


class Segment(_Model):
    start: Timestamp = Field(alias="from")
    end: Timestamp = Field(alias="to")
    per_hour: float = Field(ge=0, le=1e9)

    @model_validator(mode="after")
    def _ordered(self) -> Segment:
        if self.end <= self.start:
            raise ValueError("'to' must be after 'from'")
        return self


class Gap(_Model):
    start: Timestamp = Field(alias="from")
    end: Timestamp = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> Gap:
        if self.end <= self.start:
            raise ValueError("'to' must be after 'from'")
        return self


class Timeline:
    """A count over time: each step holds until the next; 0 before the first."""

    def __init__(self, steps: list[tuple[datetime, int]]) -> None:
        self.steps = sorted(steps)
        self._starts = [s for s, _ in self.steps]

    def at(self, when: datetime) -> int:
        index = bisect_right(self._starts, when) - 1
        return self.steps[index][1] if index >= 0 else 0

    def breakpoints(self) -> list[datetime]:
        return list(self._starts)

    def during(self, lifetime: Lifetime) -> Timeline:
        """This timeline where ``lifetime`` holds, 0 before its start and from its end on."""
        if lifetime.end is not None and lifetime.end <= lifetime.start:
            return Timeline([])
        steps = [(lifetime.start, self.at(lifetime.start))]
        steps += [(s, n) for s, n in self.steps if lifetime.start < s and (lifetime.end is None or s < lifetime.end)]
        if lifetime.end is not None:
            steps.append((lifetime.end, 0))
        return Timeline(steps)


@dataclass(frozen=True)
class Lifetime:
    """When a resource exists: ``[start, end)``; ``end`` None = not deleted."""

    start: datetime
    end: datetime | None = None

    def alive(self, when: datetime) -> bool:
        return self.start <= when and (self.end is None or when < self.end)

    def clip(self, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
        """The part of ``[start, end)`` the resource exists in, or None."""
        lo = max(start, self.start)
        hi = end if self.end is None else min(end, self.end)
        return (lo, hi) if lo < hi else None


def _timeline(value: int | list[Step], origin: datetime) -> Timeline:
    if isinstance(value, int):
        return Timeline([(origin, value)])
    return Timeline([(s.start, s.count) for s in value])


def _check_steps(value: int | list[Step]) -> int | list[Step]:
    if isinstance(value, int):
        if not 0 <= value <= MAX_COUNT:
            raise ValueError(f"must be between 0 and {MAX_COUNT}")
    elif not value:
        raise ValueError("a timeline needs at least one step")
    return value


class Serverless(_Model):
    memory_mb: int = 4096
    max_concurrency: int = Field(default=20, ge=1, le=200)

    @field_validator("memory_mb")
    @classmethod
    def _memory(cls, value: int) -> int:
        if value not in SERVERLESS_MEMORY_MB:
            raise ValueError(f"must be one of {list(SERVERLESS_MEMORY_MB)}")
        return value


class Metrics(_Model):
    enhanced: bool = False
    publish_frequency_s: int = 60
    gaps: list[Gap] = []

    @field_validator("publish_frequency_s")
    @classmethod
    def _frequency(cls, value: int) -> int:
        if value not in PUBLISH_FREQUENCIES:
            raise ValueError(f"must be one of {list(PUBLISH_FREQUENCIES)}")
        return value


class _Autoscaling(_Model):
    """A scalable target registered in Application Auto Scaling at seed time, with one
    target-tracking policy (an extension of the spec: see docs/fleet-spec.md)."""

    min: int = Field(ge=0, le=MAX_COUNT)
    max: int = Field(ge=1, le=MAX_COUNT)
    target: float = Field(gt=0, le=1e9)

    @model_validator(mode="after")
    def _range(self) -> _Autoscaling:
        if self.max < self.min:
            raise ValueError("'max' must be at least 'min'")
        return self


class VariantAutoscaling(_Autoscaling):
    min: int = Field(ge=1, le=MAX_COUNT)  # a classic variant keeps an instance
    metric: Literal["SageMakerVariantInvocationsPerInstance", "CPUUtilization", "GPUUtilization"] = (
        "SageMakerVariantInvocationsPerInstance"
    )


class ComponentAutoscaling(_Autoscaling):
    metric: Literal[
        "SageMakerInferenceComponentInvocationsPerCopy",
        "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
        "GPUUtilizationNormalized",
    ] = "SageMakerInferenceComponentInvocationsPerCopy"


class FleetComponent(_Model):
    name: str = Field(min_length=1, max_length=63)
    created_at: Timestamp | None = None
    deleted_at: Timestamp | None = None
    model_name: str | None = None
    accelerators_per_copy: float = Field(default=0, ge=0, le=64)
    cpu_cores_per_copy: float = Field(default=0, ge=0, le=1024)
    memory_mb_per_copy: int = Field(default=1024, ge=128)
    copies: Annotated[int | list[Step], BeforeValidator(lambda v: v)]
    traffic: list[Segment] = []
    gpu_utilization_pct: float = Field(default=50, ge=0, le=100)
    tags: dict[str, str] = {}
    autoscaling: ComponentAutoscaling | None = None

    _check_copies = field_validator("copies")(_check_steps)

    @model_validator(mode="after")
    def _needs_resources(self) -> FleetComponent:
        if self.accelerators_per_copy == 0 and self.cpu_cores_per_copy == 0:
            raise ValueError("a component needs accelerators_per_copy or cpu_cores_per_copy above 0")
        return self


class FleetVariant(_Model):
    name: str = "AllTraffic"
    instance_type: str | None = None
    instance_count: int | list[Step] = 0
    traffic: list[Segment] = []
    inference_components: list[FleetComponent] | None = None
    serverless: Serverless | None = None
    cpu_utilization_pct: float | None = Field(default=None, ge=0, le=100)
    """Extension: per vCPU while instances run; publishes the standard CPUUtilization (summed over vCPUs)."""
    gpu_utilization_pct: float | None = Field(default=None, ge=0, le=100)
    """Extension: per GPU while instances run; publishes the standard GPUUtilization (summed over GPUs)."""
    autoscaling: VariantAutoscaling | None = None

    _check_count = field_validator("instance_count")(_check_steps)


class FleetEndpoint(_Model):
    name: str = Field(min_length=1, max_length=63, pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
    created_at: Timestamp
    deleted_at: Timestamp | None = None
    status: Literal[
        "OutOfService",
        "Creating",
        "Updating",
        "SystemUpdating",
        "RollingBack",
        "InService",
        "Deleting",
        "Failed",
        "UpdateRollbackFailed",
    ] = "InService"
    tags: dict[str, str] = {}
    kind: Literal["real-time", "async", "serverless"] = "real-time"
    metrics: Metrics = Metrics()
    variants: list[FleetVariant] = Field(min_length=1, max_length=10)

    @model_validator(mode="after")
    def _consistent(self) -> FleetEndpoint:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variant names must be unique within an endpoint")
        for index, variant in enumerate(self.variants):
            where = f"variants[{index}]"
            if self.kind == "serverless":
                if variant.serverless is None:
                    raise ValueError(f"{where}.serverless: required for kind serverless")
                if variant.inference_components is not None:
                    raise ValueError(f"{where}.inference_components: serverless endpoints cannot host components")
            else:
                if variant.instance_type is None:
                    raise ValueError(f"{where}.instance_type: required for kind {self.kind}")
                if variant.serverless is not None:
                    raise ValueError(f"{where}.serverless: only for kind serverless")
            if variant.inference_components is not None and variant.traffic:
                raise ValueError(f"{where}.traffic: a variant that hosts components has traffic per component")
            _check_classic_extensions(variant, where)
        return self


def _check_classic_extensions(variant: FleetVariant, where: str) -> None:
    """``cpu_utilization_pct``, ``gpu_utilization_pct`` and ``autoscaling`` belong to a classic
    variant (instances, no components) of an instance type whose vCPUs and GPUs are known."""
    given = [n for n in ("cpu_utilization_pct", "gpu_utilization_pct", "autoscaling") if getattr(variant, n) is not None]
    if not given:
        return
    if variant.serverless is not None or variant.inference_components is not None:
        kind = "a serverless variant" if variant.serverless is not None else "a variant that hosts components"
        raise ValueError(f"{where}.{given[0]}: not for {kind} (only classic variants have it; a component has its own)")
    spec = INSTANCE_SPECS.get(variant.instance_type or "")
    utilization = [n for n in given if n != "autoscaling"]
    if spec is None and utilization:
        raise ValueError(
            f"{where}.{utilization[0]}: instance type {variant.instance_type!r} is unknown: its vCPUs and GPUs are not known"
        )
    needs_gpus = variant.gpu_utilization_pct is not None or (
        variant.autoscaling is not None and variant.autoscaling.metric == "GPUUtilization"
    )
    if needs_gpus and spec is not None and not spec.gpus:
        field = "gpu_utilization_pct" if variant.gpu_utilization_pct is not None else "autoscaling.metric"
        raise ValueError(f"{where}.{field}: instance type {variant.instance_type} has no GPUs")


class Faults(_Model):
    throttle_rate: float = Field(default=0, ge=0, le=0.9)
    error_rate: float = Field(default=0, ge=0, le=0.9)
    seed: int = 0

    @model_validator(mode="after")
    def _total(self) -> Faults:
        if self.throttle_rate + self.error_rate > 0.9:
            raise ValueError("throttle_rate + error_rate must be at most 0.9")
        return self


ACCOUNT_ID_PATTERN = r"^\d{12}$"
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-\d$"


def _account_id(value: Any) -> Any:
    if isinstance(value, str) and not (len(value) == 12 and value.isascii() and value.isdigit()):
        raise ValueError(f"an AWS account id is 12 digits, got {value!r}")
    return value


def _parse_prices(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    try:
        return {k: parse_money(v, k) for k, v in value.items()}
    except InputError as exc:
        raise ValueError(f"{exc.field}: {exc.message}") from None


class EstateSpec(_Model):
    """One item of a fleet's ``estates``, as written: an account's region and its endpoints."""

    account_id: str = Field(pattern=ACCOUNT_ID_PATTERN)
    region: str = Field(pattern=REGION_PATTERN)
    endpoints: list[FleetEndpoint]
    prices_usd_per_hour: dict[str, Decimal] = {}

    _account = field_validator("account_id", mode="before")(_account_id)
    _prices = field_validator("prices_usd_per_hour", mode="before")(_parse_prices)


@dataclass(frozen=True)
class FleetEstate:
    """An account's region of the fleet, as the emulated AWS serves it. ``prices_usd_per_hour``
    is the fleet's top-level prices overlaid with the estate's own. ``where`` is the estate's
    place in the document (``estates[1]``; empty for a fleet without ``estates``), the prefix of
    every error about it."""

    account_id: str
    region: str
    endpoints: tuple[FleetEndpoint, ...]
    prices_usd_per_hour: Mapping[str, Decimal]
    where: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.account_id, self.region)


class Fleet(_Model):
    spec_version: Literal[1]
    account_id: str = Field(default="123456789012", pattern=ACCOUNT_ID_PATTERN)
    """The central account: where commands run and the ledger lives (with ``estates``, it need
    not hold any estate)."""
    region: str = Field(default="us-east-1", pattern=REGION_PATTERN)
    """The central region."""
    now: Timestamp
    history_hours: int = Field(default=48, ge=1, le=24 * 63)
    prices_usd_per_hour: dict[str, Decimal] = {}
    gpu_dimension: Literal["GpuId", "AcceleratorId"] = "GpuId"
    faults: Faults | None = None
    endpoints: list[FleetEndpoint] = []
    """The single estate's endpoints (empty for a fleet with ``estates``)."""
    estate_specs: list[EstateSpec] | None = Field(default=None, alias="estates", min_length=1)

    _estates: tuple[FleetEstate, ...] = PrivateAttr(default=())

    _account = field_validator("account_id", mode="before")(_account_id)
    _prices = field_validator("prices_usd_per_hour", mode="before")(_parse_prices)

    @model_validator(mode="after")
    def _build_estates(self) -> Fleet:
        # The checks that name an estate's field are parse_fleet's (_check_estates).
        estates: tuple[FleetEstate, ...]
        if self.estate_specs is None:
            estates = (FleetEstate(self.account_id, self.region, tuple(self.endpoints), dict(self.prices_usd_per_hour)),)
        else:
            estates = tuple(
                FleetEstate(
                    spec.account_id,
                    spec.region,
                    tuple(spec.endpoints),
                    {**self.prices_usd_per_hour, **spec.prices_usd_per_hour},
                    f"estates[{index}]",
                )
                for index, spec in enumerate(self.estate_specs)
            )
        self._estates = estates
        return self

    @property
    def estates(self) -> tuple[FleetEstate, ...]:
        """Every estate: the ``estates`` list, or the one estate of a fleet without it."""
        return self._estates

    @property
    def central_prices_usd_per_hour(self) -> Mapping[str, Decimal]:
        """The prices of the central account's estate in the central region, else of the first estate."""
        for estate in self._estates:
            if estate.key == (self.account_id, self.region):
                return estate.prices_usd_per_hour
        return self._estates[0].prices_usd_per_hour

    @property
    def history_start(self) -> datetime:
        return self.now - timedelta(hours=self.history_hours)


def endpoint_lifetime(endpoint: FleetEndpoint) -> Lifetime:
    return Lifetime(endpoint.created_at, endpoint.deleted_at)


def component_lifetime(endpoint: FleetEndpoint, component: FleetComponent) -> Lifetime:
    """From its ``created_at`` (default, and at the earliest: the endpoint's) to its
    ``deleted_at`` or its endpoint's, whichever comes first."""
    ends = [t for t in (component.deleted_at, endpoint.deleted_at) if t is not None]
    start = max(component.created_at or endpoint.created_at, endpoint.created_at)
    return Lifetime(start, min(ends) if ends else None)


def instance_timeline(endpoint: FleetEndpoint, variant: FleetVariant) -> Timeline:
    """Instances running: the variant's ``instance_count``, 0 outside the endpoint's lifetime."""
    return _timeline(variant.instance_count, endpoint.created_at).during(endpoint_lifetime(endpoint))


def copies_timeline(endpoint: FleetEndpoint, component: FleetComponent) -> Timeline:
    """Copies running: the component's ``copies``, 0 outside the component's lifetime."""
    lifetime = component_lifetime(endpoint, component)
    return _timeline(component.copies, lifetime.start).during(lifetime)


def parse_fleet(document: Any, source: str = "fleet") -> Fleet:
    """Validate a decoded fleet document; errors name the field (``endpoints[0].name``)."""
    try:
        fleet = Fleet.model_validate(document)
    except ValidationError as exc:
        # With a union (a count or a timeline) pydantic reports every branch: the deepest
        # location is the one the user meant.
        error = max(exc.errors(), key=lambda e: len(e["loc"]))
        raise InputError(f"{source}: {_path(error['loc'])}", _message(error)) from None
    _check_estates(fleet, source)
    for estate in fleet.estates:
        prefix = f"{source}: {estate.where}." if estate.where else f"{source}: "
        _check_unique_names(estate, prefix)
        _check_lifetimes(estate, prefix)
    return fleet


def _check_estates(fleet: Fleet, source: str) -> None:
    """With ``estates``: no top-level endpoints, and each (account, region) once."""
    if fleet.estate_specs is None:
        return
    if "endpoints" in fleet.model_fields_set:
        raise InputError(f"{source}: endpoints", "not allowed beside estates: each estate lists its own endpoints")
    seen: dict[tuple[str, str], int] = {}
    for index, estate in enumerate(fleet.estates):
        if estate.key in seen:
            raise InputError(
                f"{source}: estates[{index}].account_id",
                f"account {estate.account_id} in {estate.region} appears twice (also estates[{seen[estate.key]}]): "
                "each estate is a different account's region",
            )
        seen[estate.key] = index


def _check_unique_names(estate: FleetEstate, prefix: str) -> None:
    """Endpoint names, and component names across the estate, are unique (as in SageMaker,
    per account and region)."""
    endpoints: set[str] = set()
    components: set[str] = set()
    for e, endpoint in enumerate(estate.endpoints):
        if endpoint.name in endpoints:
            raise InputError(f"{prefix}endpoints[{e}].name", f"endpoint name {endpoint.name!r} appears twice")
        endpoints.add(endpoint.name)
        for v, variant in enumerate(endpoint.variants):
            for c, component in enumerate(variant.inference_components or []):
                if component.name in components:
                    raise InputError(
                        f"{prefix}endpoints[{e}].variants[{v}].inference_components[{c}].name",
                        f"inference component name {component.name!r} appears twice",
                    )
                components.add(component.name)


def _check_lifetimes(estate: FleetEstate, prefix: str) -> None:
    """A resource is deleted after it is created; a component is not created after its
    endpoint is deleted."""
    for e, endpoint in enumerate(estate.endpoints):
        if endpoint.deleted_at is not None and endpoint.deleted_at <= endpoint.created_at:
            raise InputError(
                f"{prefix}endpoints[{e}].deleted_at",
                f"must be after created_at ({_stamp(endpoint.created_at)}), got {_stamp(endpoint.deleted_at)}",
            )
        for v, variant in enumerate(endpoint.variants):
            for c, component in enumerate(variant.inference_components or []):
                where = f"{prefix}endpoints[{e}].variants[{v}].inference_components[{c}]"
                created = component.created_at or endpoint.created_at
                if endpoint.deleted_at is not None and created > endpoint.deleted_at:
                    raise InputError(
                        f"{where}.created_at",
                        f"must not be after its endpoint's deleted_at ({_stamp(endpoint.deleted_at)}), got {_stamp(created)}",
                    )
                if component.deleted_at is not None and component.deleted_at <= created:
                    origin = "created_at" if component.created_at else "its endpoint's created_at"
                    raise InputError(
                        f"{where}.deleted_at",
                        f"must be after {origin} ({_stamp(created)}), got {_stamp(component.deleted_at)}",
                    )


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def load_fleet(path: str | Path) -> Fleet:
    source = str(path)
    text = read_text(path, "--fleet")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(source, f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    return parse_fleet(document, source)


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("int", "list[Step]", "function-before[<lambda>(), union[int,list[Step]]]"):
            continue  # pydantic's union-branch labels are noise to a user
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _message(error: Any) -> str:
    message = str(error.get("msg", "invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if error.get("type") == "extra_forbidden":
        return "unknown field"
    if error.get("type") == "missing":
        return "required field is missing"
    return message
