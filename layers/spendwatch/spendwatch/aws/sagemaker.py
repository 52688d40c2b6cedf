"""SageMaker inventory adapter: every endpoint (all pages, every status), its config (once
per config name: configs are immutable), its inference components and tags.

At the API-call floor: tags come from the Tagging API where it answers (``aws.tagging``),
and a run given the last run's inventory describes only what ``List*``'s
``LastModifiedTime`` (or status) says changed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import Any

from spendwatch.aws.retry import DEFAULT_RETRY, RetryPolicy, unavailable
from spendwatch.aws.tagging import ResourceTags, SageMakerTags
from spendwatch.core.errors import AwsError
from spendwatch.core.inventory import (
    Endpoint,
    EndpointKind,
    InferenceComponent,
    Inventory,
    MetricsConfig,
    Variant,
)
from spendwatch.core.timestamps import ensure_utc

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""Called with (done, total) as resources are described."""

# The IAM actions this adapter calls (checked against template.yaml by the tests).
IAM_ACTIONS = (
    "sagemaker:ListEndpoints",
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:ListInferenceComponents",
    "sagemaker:DescribeInferenceComponent",
    "sagemaker:ListTags",
)

_GONE = ("ValidationException", "ResourceNotFound")


class SageMakerCalls:
    """A SageMaker adapter's calls: retried, and paged by NextToken."""

    _client: Any
    _retry: RetryPolicy

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        method: Callable[..., dict[str, Any]] = getattr(self._client, _snake(operation))
        return self._retry.call(operation, method, **kwargs)

    def _pages(self, operation: str, key: str, kwargs: dict[str, Any]) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            page = self._call(operation, **kwargs, **({"NextToken": token} if token else {}))
            yield from page.get(key, [])
            token = page.get("NextToken")
            if not token:
                return


class SageMakerInventory(SageMakerCalls):
    def __init__(
        self,
        client: Any,
        retry: RetryPolicy = DEFAULT_RETRY,
        workers: int = 8,
        config_cache: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self._client = client
        self._retry = retry
        self._workers = workers
        # Endpoint configs are immutable: one fetched is valid forever (and for every run
        # that shares this cache).
        self._configs = {} if config_cache is None else config_cache

    def collect(
        self,
        region: str,
        progress: Progress | None = None,
        previous: Inventory | None = None,
        account_id: str = "",
        tags: ResourceTags | None = None,
    ) -> Inventory:
        """Everything the region holds now. With ``previous`` (the inventory the last run
        stored), a resource whose ``LastModifiedTime`` and status have not moved since is
        taken from it instead of described again; tags are read afresh every time, from the
        Tagging API (``tags``) where it answers for the resource, else with ListTags."""
        summaries = list(self._pages("ListEndpoints", "Endpoints", {"MaxResults": 100}))
        try:
            component_summaries = list(self._pages("ListInferenceComponents", "InferenceComponents", {"MaxResults": 100}))
            listed = True
        except AwsError as exc:
            if not unavailable(exc):
                raise
            # A region (or an emulator) without inference components: classic endpoints still count.
            log.warning("ListInferenceComponents is not available in %s (%s): classic endpoints only", region, exc.code)
            component_summaries, listed = [], False
        tagged = tags.sagemaker(len(summaries), len(component_summaries)) if tags is not None else SageMakerTags()
        known_endpoints = {e.arn: e for e in previous.endpoints if e.deleted_at is None} if previous else {}
        known_components = {c.arn: c for c in previous.components if c.deleted_at is None} if previous else {}
        total = len(summaries) + len(component_summaries)
        done = 0
        lock = threading.Lock()

        def tick() -> None:
            nonlocal done
            with lock:
                done += 1
                if progress:
                    progress(done, total)

        def resource_tags(arn: str) -> dict[str, str]:
            found = tagged.tags(arn)
            return found if found is not None else self._tags(arn)

        def endpoint_job(summary: dict[str, Any]) -> Endpoint | tuple[dict[str, Any], dict[str, Any], dict[str, str]] | None:
            try:
                known = known_endpoints.get(summary["EndpointArn"])
                if known is not None and _unchanged(known.last_modified, known.status, summary, "EndpointStatus"):
                    return replace(known, tags=resource_tags(known.arn))
                described = self._call("DescribeEndpoint", EndpointName=summary["EndpointName"])
                config = self._config(described["EndpointConfigName"])
                return described, config, resource_tags(described["EndpointArn"])
            except AwsError as exc:
                if exc.code in _GONE:  # deleted between the listing and now
                    log.info("endpoint %s disappeared during the scan", summary["EndpointName"])
                    return None
                raise
            finally:
                tick()

        def component_job(summary: dict[str, Any]) -> InferenceComponent | None:
            try:
                known = known_components.get(summary["InferenceComponentArn"])
                if known is not None and _unchanged(known.last_modified, known.status, summary, "InferenceComponentStatus"):
                    return replace(known, tags=resource_tags(known.arn))
                described = self._call(
                    "DescribeInferenceComponent",
                    InferenceComponentName=summary["InferenceComponentName"],
                )
                return _component(described, resource_tags(described["InferenceComponentArn"]))
            except AwsError as exc:
                if exc.code in _GONE:
                    log.info("component %s disappeared during the scan", summary["InferenceComponentName"])
                    return None
                raise
            finally:
                tick()

        with ThreadPoolExecutor(max_workers=max(1, self._workers)) as pool:
            endpoint_parts = list(pool.map(endpoint_job, summaries))
            components = [c for c in pool.map(component_job, component_summaries) if c is not None]

        hosting = {(c.endpoint_name, c.variant_name) for c in components}
        endpoints = tuple(
            part if isinstance(part, Endpoint) else _endpoint(*part, hosting)
            for part in endpoint_parts
            if part is not None
        )
        hosting_unknown = sorted(e.name for e in endpoints if not listed and e.hosts_components)
        if hosting_unknown:  # their GPUs cannot be told apart: refuse rather than misattribute
            raise AwsError(
                "ListInferenceComponents",
                "Unavailable",
                f"not available, yet {', '.join(hosting_unknown[:5])} host inference components",
            )
        names = {e.name for e in endpoints}
        return Inventory(
            components_listed=listed,
            region=region,
            endpoints=tuple(sorted(endpoints, key=lambda e: e.name)),
            components=tuple(sorted((c for c in components if c.endpoint_name in names), key=lambda c: c.name)),
            account_id=account_id,
        )

    def _config(self, name: str) -> dict[str, Any]:
        if name not in self._configs:
            self._configs[name] = self._call("DescribeEndpointConfig", EndpointConfigName=name)
        return self._configs[name]

    def _tags(self, arn: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        for tag in self._pages("ListTags", "Tags", {"ResourceArn": arn, "MaxResults": 50}):
            tags[tag["Key"]] = tag["Value"]
        return tags



def _unchanged(last_modified: datetime | None, status: str, summary: dict[str, Any], status_key: str) -> bool:
    """Whether a listed resource is as the last run described it."""
    listed = summary.get("LastModifiedTime")
    return last_modified is not None and listed is not None and ensure_utc(listed) == last_modified and (
        summary.get(status_key) == status
    )


def _endpoint(
    described: dict[str, Any],
    config: dict[str, Any],
    tags: dict[str, str],
    hosting: set[tuple[str, str]],
) -> Endpoint:
    name = described["EndpointName"]
    configured = {v["VariantName"]: v for v in config.get("ProductionVariants", [])}
    current = {v["VariantName"]: v for v in described.get("ProductionVariants", [])}
    variants = []
    for variant_name, cfg in configured.items():
        now = current.get(variant_name, {})
        serverless = now.get("CurrentServerlessConfig") or cfg.get("ServerlessConfig")
        variants.append(
            Variant(
                name=variant_name,
                instance_type=None if serverless else cfg.get("InstanceType"),
                instance_count=int(now.get("CurrentInstanceCount", 0) or 0),
                # Inference-component endpoints name no model on the variant.
                hosts_components=(name, variant_name) in hosting or (not serverless and not cfg.get("ModelName")),
                serverless_memory_mb=serverless.get("MemorySizeInMB") if serverless else None,
                serverless_max_concurrency=serverless.get("MaxConcurrency") if serverless else None,
                model_name=cfg.get("ModelName"),
            )
        )
    if config.get("AsyncInferenceConfig"):
        kind = EndpointKind.ASYNC
    elif variants and all(v.instance_type is None for v in variants):
        kind = EndpointKind.SERVERLESS
    else:
        kind = EndpointKind.REAL_TIME
    metrics = config.get("MetricsConfig") or {}
    return Endpoint(
        name=name,
        arn=described["EndpointArn"],
        status=described.get("EndpointStatus", "Unknown"),
        created_at=ensure_utc(described["CreationTime"]),
        kind=kind,
        config_name=described["EndpointConfigName"],
        metrics=MetricsConfig(
            enhanced=bool(metrics.get("EnableEnhancedMetrics", False)),
            publish_frequency_s=int(metrics.get("MetricPublishFrequencyInSeconds", 60)),
        ),
        variants=tuple(variants),
        tags=tags,
        last_modified=_modified(described),
    )


def _component(described: dict[str, Any], tags: dict[str, str]) -> InferenceComponent:
    spec = described.get("Specification", {})
    compute = spec.get("ComputeResourceRequirements", {})
    runtime = described.get("RuntimeConfig", {})
    return InferenceComponent(
        name=described["InferenceComponentName"],
        arn=described["InferenceComponentArn"],
        endpoint_name=described["EndpointName"],
        variant_name=described.get("VariantName", "AllTraffic"),
        created_at=ensure_utc(described["CreationTime"]),
        status=described.get("InferenceComponentStatus", "Unknown"),
        model_name=spec.get("ModelName"),
        accelerators_per_copy=float(compute.get("NumberOfAcceleratorDevicesRequired", 0) or 0),
        cpu_cores_per_copy=float(compute.get("NumberOfCpuCoresRequired", 0) or 0),
        memory_mb_per_copy=int(compute.get("MinMemoryRequiredInMb", 0) or 0),
        copies=int(runtime.get("CurrentCopyCount", 0) or 0),
        tags=tags,
        last_modified=_modified(described),
    )


def _modified(described: dict[str, Any]) -> datetime | None:
    value = described.get("LastModifiedTime")
    return ensure_utc(value) if value is not None else None


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
