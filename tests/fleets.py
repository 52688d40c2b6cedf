"""Short, readable fleet specs for tests: given a fleet, when scanned, then these findings."""

from __future__ import annotations

from typing import Any

NOW = "2026-11-20T06:00:00Z"
LONG_AGO = "2026-10-01T00:00:00Z"


def fleet(*endpoints: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"spec_version": 1, "now": NOW, "history_hours": 48, "endpoints": list(endpoints), **top}


def seg(start: str, end: str, per_hour: float = 60) -> dict[str, Any]:
    return {"from": start, "to": end, "per_hour": per_hour}


def endpoint(
    name: str,
    *,
    instance_type: str = "ml.m5.large",
    count: Any = 1,
    traffic: list[dict[str, Any]] | None = None,
    components: list[dict[str, Any]] | None = None,
    created_at: str = LONG_AGO,
    **extra: Any,
) -> dict[str, Any]:
    variant: dict[str, Any] = {"name": "AllTraffic", "instance_type": instance_type, "instance_count": count}
    if traffic:
        variant["traffic"] = traffic
    if components is not None:
        variant["inference_components"] = components
    return {"name": name, "created_at": created_at, "variants": [variant], **extra}


def component(
    name: str,
    *,
    accelerators: float = 1,
    cores: float = 2,
    copies: Any = 1,
    traffic: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": name,
        "accelerators_per_copy": accelerators,
        "cpu_cores_per_copy": cores,
        "copies": copies,
        **extra,
    }
    if traffic:
        spec["traffic"] = traffic
    return spec


def gpu_endpoint(
    name: str, components: list[dict[str, Any]], instance_type: str = "ml.g6.12xlarge", **extra: Any
) -> dict[str, Any]:
    return endpoint(name, instance_type=instance_type, components=components, **extra)
