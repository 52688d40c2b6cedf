"""The meter's memory of the estate (pure): what it saw last run, so that it knows what
disappeared since and can still charge a deleted resource up to the second it was deleted.

The snapshot is the inventory as last seen plus *tombstones*: resources that disappeared,
with their deletion time (from CloudTrail's event history, or, when no event says, the last
instant they were seen, with a finding). Tombstones are kept a few days, long enough for the
daily settle pass to re-meter the day they were deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from spendwatch.core.inventory import Endpoint, EndpointKind, InferenceComponent, Inventory, MetricsConfig, Variant
from spendwatch.core.metering import Finding
from spendwatch.core.timestamps import format_utc, parse_utc

KEEP_DELETED = timedelta(days=3)
SNAPSHOT_VERSION = 1


@dataclass(frozen=True)
class Deletion:
    """A ``DeleteEndpoint`` / ``DeleteInferenceComponent`` event of CloudTrail's history."""

    kind: str  # endpoint | component
    name: str
    at: datetime


@dataclass(frozen=True)
class Snapshot:
    inventory: Inventory
    taken_at: datetime
    described_at: datetime | None = None
    """When every resource was last described in full (the runs between re-describe only
    what ``List*``'s ``LastModifiedTime`` says changed)."""


def to_document(snapshot: Snapshot) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return format_utc(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    inventory = snapshot.inventory
    return {
        "version": SNAPSHOT_VERSION,
        "region": inventory.region,
        "account_id": inventory.account_id,
        "taken_at": format_utc(snapshot.taken_at),
        "described_at": format_utc(snapshot.described_at) if snapshot.described_at else None,
        "endpoints": [plain(asdict(e)) for e in inventory.endpoints],
        "components": [plain(asdict(c)) for c in inventory.components],
    }


def from_document(doc: Mapping[str, Any]) -> Snapshot:
    def when(value: str | None, name: str) -> datetime | None:
        return parse_utc(value, name) if value is not None else None

    endpoints = tuple(
        Endpoint(
            name=e["name"],
            arn=e["arn"],
            status=e["status"],
            created_at=parse_utc(e["created_at"], "snapshot created_at"),
            kind=EndpointKind(e["kind"]),
            config_name=e["config_name"],
            metrics=MetricsConfig(**e["metrics"]),
            variants=tuple(Variant(**v) for v in e["variants"]),
            tags=dict(e["tags"]),
            deleted_at=when(e.get("deleted_at"), "snapshot deleted_at"),
            last_modified=when(e.get("last_modified"), "snapshot last_modified"),
        )
        for e in doc["endpoints"]
    )
    components = tuple(
        InferenceComponent(
            **{k: v for k, v in c.items() if k not in ("created_at", "deleted_at", "last_modified", "tags")},
            created_at=parse_utc(c["created_at"], "snapshot created_at"),
            deleted_at=when(c.get("deleted_at"), "snapshot deleted_at"),
            last_modified=when(c.get("last_modified"), "snapshot last_modified"),
            tags=dict(c["tags"]),
        )
        for c in doc["components"]
    )
    inventory = Inventory(doc["region"], endpoints, components, account_id=doc.get("account_id", ""))
    return Snapshot(inventory, parse_utc(doc["taken_at"], "snapshot taken_at"), when(doc.get("described_at"), "described_at"))


def _deleted_at(kind: str, name: str, created_at: datetime, events: Mapping[tuple[str, str], list[datetime]]) -> datetime | None:
    times = [at for at in events.get((kind, name), ()) if at >= created_at]
    return min(times) if times else None


def reconcile(
    current: Inventory,
    previous: Snapshot | None,
    deletions: Iterable[Deletion],
    now: datetime,
    described_at: datetime | None = None,
) -> tuple[Snapshot, list[Finding]]:
    """What to meter (and remember) now: what exists now, plus what the last snapshot held
    that has disappeared since, bounded by its deletion time."""
    findings: list[Finding] = []
    if previous is None:
        return Snapshot(current, now, described_at), findings
    events: dict[tuple[str, str], list[datetime]] = {}
    for deletion in deletions:  # indexed once: every lookup below is a dict read, not a scan
        events.setdefault((deletion.kind, deletion.name), []).append(deletion.at)
    seen_endpoints = {e.name for e in current.endpoints}
    seen_components = {c.name for c in current.components}
    gone: list[Endpoint] = []
    for endpoint in previous.inventory.endpoints:
        if endpoint.name in seen_endpoints:
            continue
        if endpoint.deleted_at is None:
            at = _deleted_at("endpoint", endpoint.name, endpoint.created_at, events)
            if at is None:
                at = max(previous.taken_at, endpoint.created_at)
                findings.append(
                    Finding(
                        endpoint.name,
                        "deletion-time-unknown",
                        f"gone since {format_utc(previous.taken_at)} with no DeleteEndpoint event in CloudTrail: "
                        "charged until it was last seen",
                    )
                )
            gone.append(replace(endpoint, deleted_at=at))
        else:
            gone.append(endpoint)
    ended = {e.name: e.deleted_at for e in gone}
    gone_components: list[InferenceComponent] = []
    for component in previous.inventory.components:
        if component.name in seen_components:
            continue
        at = component.deleted_at
        if at is None:
            at = _deleted_at("component", component.name, component.created_at, events)
        endpoint_end = ended.get(component.endpoint_name)
        if endpoint_end is not None:
            at = min(at, endpoint_end) if at is not None else endpoint_end
        if at is None:
            at = max(previous.taken_at, component.created_at)
            findings.append(
                Finding(
                    component.endpoint_name,
                    "deletion-time-unknown",
                    f"component {component.name} gone since {format_utc(previous.taken_at)} with no "
                    "DeleteInferenceComponent event in CloudTrail: charged until it was last seen",
                )
            )
        gone_components.append(replace(component, deleted_at=at))
    keep = now - KEEP_DELETED
    endpoints = current.endpoints + tuple(e for e in gone if e.deleted_at is not None and e.deleted_at >= keep)
    components = current.components + tuple(c for c in gone_components if c.deleted_at is not None and c.deleted_at >= keep)
    inventory = replace(current, endpoints=endpoints, components=components)
    return Snapshot(inventory, now, previous.described_at if described_at is None else described_at), findings
