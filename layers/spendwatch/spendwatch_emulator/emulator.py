"""The emulated AWS behind ``--fleet``: moto, seeded from a fleet spec, plus what moto lacks.

This one module is used by the CLI, the demo, the tests and the benchmarks alike.

* moto serves DynamoDB, SNS, SQS and SSM (the central account's).
* Emulated here, answering at botocore's ``before-call`` event exactly where the real
  service would answer: SageMaker ListEndpoints, DescribeEndpoint, DescribeEndpointConfig
  (moto drops ``MetricsConfig`` and refuses current GPU instance types),
  ListInferenceComponents, DescribeInferenceComponent and ListTags (moto has no inference
  components, and no history: resources come and go, and counts change, with the clock),
  CloudWatch GetMetricData and ListMetrics (from an index computed from the fleet's traffic
  segments: moto scans every stored datapoint per query, has no NextToken paging and no
  metric math), CloudTrail LookupEvents (the fleet's deletions: moto keeps no event
  history), Pricing GetProducts (moto has no Pricing API), Resource Groups Tagging API
  GetResources, STS AssumeRole and GetCallerIdentity, and Organizations ListAccounts (an
  organization of the fleet's accounts).
* Estates: the fleet's endpoints live in estates, each an (account, region). Every SageMaker,
  CloudWatch, CloudTrail and Tagging answer is for the estate of the caller's account (the
  central account, or the one whose role the caller's credentials were assumed from) and the
  client's region; an (account, region) without an estate is an empty region.
* The clock: every answer is as of ``clock``, the fleet's ``now`` until ``set_clock`` moves
  it (anywhere in the fleet's history). Moving it only moves the instant answers are
  computed at: nothing is re-seeded.
* DynamoDB TransactWriteItems runs on moto's own items and condition evaluation, but
  snapshots only the items a transaction touches: moto deep-copies every table on every
  transaction, which makes a ledger of thousands of records quadratic.
* Every emulated response is validated against botocore's service model, as botocore's
  Stubber does, so a shape the real service could not return fails loudly.
* ``faults`` make a share of calls fail with ThrottlingException or HTTP 500 before they
  reach any service, deterministically for a seed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import random
import re
import threading
import time
import uuid
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.utils import parse_timestamp
from botocore.validate import validate_parameters

from spendwatch.core import metricnames as mn
from spendwatch.core.errors import InputError
from spendwatch.core.pricing import BUILTIN_PRICES, INSTANCE_SPECS
from spendwatch_emulator.fleet import (
    Fleet,
    FleetComponent,
    FleetEndpoint,
    FleetEstate,
    FleetVariant,
    Gap,
    Lifetime,
    Segment,
    Timeline,
    component_lifetime,
    copies_timeline,
    endpoint_lifetime,
    instance_timeline,
)

LEDGER_TABLE = "spendwatch-emulated"  # the ledger table --fleet commands use
LOST_REPLY_OPERATIONS = frozenset({"PutItem", "UpdateItem", "TransactWriteItems", "DeleteItem"})
DEFAULT_PAGE_DATAPOINTS = 100_800  # GetMetricData's real limit per call
LIST_METRICS_PAGE = 500
LIST_METRICS_RECENT = timedelta(days=14)  # ListMetrics forgets metrics quiet for two weeks
CLOUDTRAIL_RETENTION = timedelta(days=90)  # LookupEvents sees the last 90 days of management events
LOOKUP_EVENTS_PAGE = 50  # LookupEvents' default and largest MaxResults
LIST_ACCOUNTS_PAGE = 20  # ListAccounts' default and largest MaxResults
TAGGING_PAGE, TAGGING_MOST = 50, 100  # GetResources' default and largest ResourcesPerPage
ORGANIZATION_ID = "o-emulatedorg"  # the model's pattern: o- and 10 to 32 lowercase letters or digits
CENTRAL_ROLE, CENTRAL_SESSION = "SpendwatchOperator", "spendwatch"  # who the central session's credentials are
MAX_SESSION_S = 43_200  # AssumeRole's largest DurationSeconds
_PARAMS = "spendwatch_emulator_params"
AUTOSCALING_VARIANT = "sagemaker:variant:DesiredInstanceCount"
AUTOSCALING_COMPONENT = "sagemaker:inference-component:DesiredCopyCount"
AUTOSCALING_PREDEFINED = frozenset(
    {
        "SageMakerVariantInvocationsPerInstance",
        "SageMakerInferenceComponentInvocationsPerCopy",
        "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
    }
)
SCALING_POLICIES_PAGE = 10  # DescribeScalingPolicies' largest (and default) MaxResults
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# An access key the emulated AssumeRole issued: ASIA, the role's account, a serial (20 characters, as AWS's).
_ASSUMED_KEY = re.compile(r"^ASIA(\d{12})[0-9A-F]{4}$")
_ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$")


class EmulatorError(Exception):
    """An emulated service answering with an error (becomes a botocore ClientError)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


# ---------------------------------------------------------------------------------------
# The metric index: series as piecewise-constant per-minute statistics.


@dataclass(frozen=True)
class Piece:
    """Samples every ``interval_s`` seconds (on multiples of it since the epoch) in
    ``[start_s, end_s)``, each worth ``value``."""

    start_s: int
    end_s: int
    interval_s: int
    value: float

    def samples(self, lo: int, hi: int) -> int:
        lo, hi = max(lo, self.start_s), min(hi, self.end_s)
        if hi <= lo:
            return 0
        return -(-hi // self.interval_s) - -(-lo // self.interval_s)  # multiples in [lo, hi)


@dataclass
class Series:
    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]
    pieces: list[Piece] = field(default_factory=list)


def _second(ts: datetime) -> int:
    return math.ceil((ts - _EPOCH).total_seconds())


def _from_second(second: int) -> datetime:
    return _EPOCH + timedelta(seconds=second)


class MetricIndex:
    """The emulated CloudWatch store: series as runs of regular samples, so any statistic
    over any period is computed in time proportional to runs and buckets, never datapoints."""

    def __init__(self, history_start: datetime, now: datetime) -> None:
        self._series: dict[tuple[str, str, frozenset[tuple[str, str]]], Series] = {}
        self.first_s = _second(history_start)
        self.last_s = _second(now)
        self.until_s = self.last_s  # the clock: samples at or after it are not there yet

    def set_clock(self, when: datetime) -> None:
        self.until_s = min(_second(when), self.last_s)

    def add(
        self,
        namespace: str,
        metric_name: str,
        dimensions: dict[str, str],
        start: datetime,
        end: datetime,
        value: float,
        interval_s: int,
    ) -> None:
        start_s, end_s = max(_second(start), self.first_s), min(_second(end), self.last_s)
        if end_s <= start_s:
            return
        key = (namespace, metric_name, frozenset(dimensions.items()))
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = Series(namespace, metric_name, tuple(dimensions.items()))
        series.pieces.append(Piece(start_s, end_s, interval_s, value))

    def __len__(self) -> int:
        return len(self._series)

    def find(self, namespace: str, metric_name: str, dimensions: dict[str, str]) -> Series | None:
        return self._series.get((namespace, metric_name, frozenset(dimensions.items())))

    def last_sample_end(self, series: Series) -> int | None:
        """The end of the series' last piece with a sample before the clock, or None."""
        ends = [min(p.end_s, self.until_s) for p in series.pieces if p.samples(p.start_s, self.until_s)]
        return max(ends) if ends else None

    def all(self) -> Iterator[Series]:
        return iter(self._series.values())

    def datapoints(self, series: Series, start: datetime, end: datetime, period_s: int, stat: str) -> list[tuple[int, float]]:
        """(bucket start second, value) for every bucket with data; buckets align on the
        start time rounded down to the minute, as CloudWatch does."""
        first = _second(start.replace(second=0, microsecond=0))
        last = min(_second(end), self.until_s)
        sums: dict[int, float] = defaultdict(float)
        counts: dict[int, int] = defaultdict(int)
        highs: dict[int, float] = {}
        lows: dict[int, float] = {}
        for piece in series.pieces:
            lo, hi = max(piece.start_s, first), min(piece.end_s, last)
            if hi <= lo:
                continue
            bucket = first + (lo - first) // period_s * period_s
            while bucket < hi:
                n = piece.samples(bucket, min(bucket + period_s, self.until_s))  # none at or after the clock
                if n:
                    sums[bucket] += n * piece.value
                    counts[bucket] += n
                    highs[bucket] = max(highs.get(bucket, piece.value), piece.value)
                    lows[bucket] = min(lows.get(bucket, piece.value), piece.value)
                bucket += period_s
        out = []
        for bucket in sorted(counts):
            if stat == "Sum":
                value = sums[bucket]
            elif stat == "SampleCount":
                value = float(counts[bucket])
            elif stat == "Average":
                value = sums[bucket] / counts[bucket]
            elif stat == "Maximum":
                value = highs[bucket]
            elif stat == "Minimum":
                value = lows[bucket]
            else:
                raise EmulatorError("InvalidParameterValue", f"statistic {stat!r} is not emulated")
            out.append((bucket, value))
        return out


# ---------------------------------------------------------------------------------------
# One estate: an account's region, seeded from the fleet.


@dataclass(frozen=True)
class _Endpoint:
    spec: FleetEndpoint
    lifetime: Lifetime
    arn: str
    config_name: str
    instances: tuple[Timeline | None, ...]  # per variant; None for a serverless variant
    modified: tuple[datetime, ...]  # CreationTime and every instance count change, in order


@dataclass(frozen=True)
class _Component:
    description: dict[str, Any]  # DescribeInferenceComponent's answer, without its RuntimeConfig
    lifetime: Lifetime
    copies: Timeline
    modified: tuple[datetime, ...]  # CreationTime and every copy count change, in order


@dataclass(frozen=True)
class _EndpointChange:
    """A change made through the emulated API (remediation's), in force from ``at`` on: the
    endpoint deleted, created, moved to another config, or its instance counts set."""

    at: datetime
    deleted: bool = False
    created: bool = False
    config_name: str | None = None
    counts: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class _Tagged:
    """A resource the Tagging API lists: one with at least one tag."""

    arn: str
    resource_type: str  # "endpoint" or "inference-component"
    lifetime: Lifetime
    tags: dict[str, str]


def _changes(created: datetime, timelines: list[Timeline]) -> tuple[datetime, ...]:
    """``created`` and every later instant at which one of ``timelines`` changes its count."""
    times = {created}
    for timeline in timelines:
        previous = 0  # a timeline counts 0 before its first step
        for start, count in timeline.steps:
            if start > created and count != previous:
                times.add(start)
            previous = count
    return tuple(sorted(times))


def _price_list(region: str, overrides: Mapping[str, Decimal]) -> dict[str, str]:
    """The Pricing API's hosting prices in ``region``: the built-in price book's, overlaid with ``overrides``."""
    prices = {t: str(p) for t, (p, _) in BUILTIN_PRICES.get(region, {}).items()}
    prices.update({t: str(p) for t, p in overrides.items()})
    return prices


def _latest(times: tuple[datetime, ...], when: datetime) -> datetime:
    """The latest of ``times`` at or before ``when`` (the first if none is)."""
    return times[max(bisect_right(times, when) - 1, 0)]


class _Estate:
    """An account's region: its SageMaker resources, CloudWatch metrics, CloudTrail events and
    prices. An estate the fleet does not hold is empty (made on first use)."""

    def __init__(self, fleet: Fleet, account_id: str, region: str, spec: FleetEstate | None, clock: datetime) -> None:
        self.fleet = fleet
        self.account_id = account_id
        self.region = region
        self.spec = spec
        self.metrics = MetricIndex(fleet.history_start, fleet.now)
        self.metrics.set_clock(clock)
        self.configs: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, _Endpoint] = {}
        self.components: dict[str, _Component] = {}
        self.tags: dict[str, tuple[Lifetime, dict[str, str]]] = {}  # by ARN: endpoints and components
        self.tagged: list[_Tagged] = []  # what GetResources lists, by ARN
        self.trail: list[dict[str, Any]] = []  # LookupEvents' events, newest first
        self.listings: dict[str, tuple[Any, list[Any]]] = {}  # by operation: the last listing made (see _listing)
        # Changes made through the emulated API, each in force from its instant on (see "emulated changes").
        self.endpoint_changes: dict[str, list[_EndpointChange]] = {}
        self.copies_changes: dict[str, list[tuple[datetime, int]]] = {}  # by component name
        self.tag_changes: dict[str, list[tuple[datetime, dict[str, str] | None]]] = {}  # by ARN; None: gone
        self.deleted_configs: set[str] = set()
        self.scalable_targets: dict[str, dict[str, Any]] = {}  # Application Auto Scaling, by ResourceId
        self.scaling_policies: list[dict[str, Any]] = []  # DescribeScalingPolicies' items (the fleet's autoscaling)
        self.prices = _price_list(region, spec.prices_usd_per_hour if spec is not None else fleet.prices_usd_per_hour)

    def arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account_id}:{kind}/{name.lower()}"

    def config(self, name: str) -> dict[str, Any]:
        """An endpoint config that exists, or SageMaker's error naming it."""
        found = self.configs.get(name)
        if found is None:
            arn = self.arn("endpoint-config", name)
            raise EmulatorError("ValidationException", f'Could not find endpoint configuration "{arn}".')
        return found

    def seed(self) -> None:
        if self.spec is None:
            return
        role = f"arn:aws:iam::{self.account_id}:role/SageMakerExecutionRole"
        prefix = f"{self.spec.where}." if self.spec.where else ""
        for index, endpoint in enumerate(self.spec.endpoints):
            where = f"{prefix}endpoints[{index}] ({endpoint.name})"
            config_name = f"{endpoint.name}-config"
            lifetime = endpoint_lifetime(endpoint)
            arn = self.arn("endpoint", endpoint.name)
            instances = tuple(None if v.serverless is not None else instance_timeline(endpoint, v) for v in endpoint.variants)
            modified = _changes(endpoint.created_at, [t for t in instances if t is not None])
            self.endpoints[endpoint.name] = _Endpoint(endpoint, lifetime, arn, config_name, instances, modified)
            self.tags[arn] = (lifetime, dict(endpoint.tags))
            if endpoint.tags:
                self.tagged.append(_Tagged(arn, "endpoint", lifetime, dict(endpoint.tags)))
            self.configs[config_name] = self._config_response(endpoint, config_name, role)
            if endpoint.deleted_at is not None:
                self.trail.append(self._deletion("DeleteEndpoint", "Endpoint", endpoint.name, endpoint.deleted_at))
            self._seed_components(endpoint)
            self._seed_metrics(endpoint, where)
            self._seed_autoscaling(endpoint)
        self.trail.sort(key=lambda e: (e["EventTime"], e["EventId"]), reverse=True)
        self.tagged.sort(key=lambda t: t.arn)

    def _config_response(self, endpoint: FleetEndpoint, config_name: str, role: str) -> dict[str, Any]:
        variants = []
        for variant in endpoint.variants:
            entry: dict[str, Any] = {"VariantName": variant.name}
            if variant.serverless is not None:
                entry["ServerlessConfig"] = {
                    "MemorySizeInMB": variant.serverless.memory_mb,
                    "MaxConcurrency": variant.serverless.max_concurrency,
                }
            else:
                entry["InstanceType"] = variant.instance_type
                entry["InitialInstanceCount"] = max(1, instance_timeline(endpoint, variant).at(endpoint.created_at))
            if variant.inference_components is None:
                entry["ModelName"] = f"{endpoint.name}-{variant.name}"[:63]
                entry["InitialVariantWeight"] = 1.0
            else:
                entry["RoutingConfig"] = {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
            variants.append(entry)
        response: dict[str, Any] = {
            "EndpointConfigName": config_name,
            "EndpointConfigArn": self.arn("endpoint-config", config_name),
            "ProductionVariants": variants,
            "CreationTime": endpoint.created_at,
            "MetricsConfig": {
                "EnableEnhancedMetrics": endpoint.metrics.enhanced,
                "MetricPublishFrequencyInSeconds": endpoint.metrics.publish_frequency_s,
            },
        }
        if any(v.inference_components is not None for v in endpoint.variants):
            response["ExecutionRoleArn"] = role
        if endpoint.kind == "async":
            response["AsyncInferenceConfig"] = {
                "OutputConfig": {"S3OutputPath": f"s3://sagemaker-{self.region}-{self.account_id}/async/{endpoint.name}/"}
            }
        return response

    def _seed_components(self, endpoint: FleetEndpoint) -> None:
        for variant in endpoint.variants:
            for component in variant.inference_components or []:
                created = component.created_at or endpoint.created_at
                lifetime = component_lifetime(endpoint, component)
                arn = self.arn("inference-component", component.name)
                description = {
                    "InferenceComponentName": component.name,
                    "InferenceComponentArn": arn,
                    "EndpointName": endpoint.name,
                    "EndpointArn": self.arn("endpoint", endpoint.name),
                    "VariantName": variant.name,
                    "Specification": {
                        "ModelName": component.model_name or component.name,
                        # A CPU-only component names no accelerators (the API's minimum is 1).
                        "ComputeResourceRequirements": {
                            k: v
                            for k, v in (
                                ("NumberOfCpuCoresRequired", component.cpu_cores_per_copy),
                                ("NumberOfAcceleratorDevicesRequired", component.accelerators_per_copy),
                                ("MinMemoryRequiredInMb", component.memory_mb_per_copy),
                            )
                            if v
                        },
                    },
                    "CreationTime": created,
                    "LastModifiedTime": created,
                    "InferenceComponentStatus": "InService",
                }
                copies = copies_timeline(endpoint, component)
                self.components[component.name] = _Component(description, lifetime, copies, _changes(created, [copies]))
                self.tags[arn] = (lifetime, dict(component.tags))
                if component.tags:
                    self.tagged.append(_Tagged(arn, "inference-component", lifetime, dict(component.tags)))
                if component.deleted_at is not None:
                    self.trail.append(
                        self._deletion("DeleteInferenceComponent", "InferenceComponent", component.name, component.deleted_at)
                    )

    def _deletion(self, event_name: str, resource_type: str, resource_name: str, when: datetime) -> dict[str, Any]:
        """The management event of a deletion, as LookupEvents returns it."""
        account = self.account_id
        key = f"{account}/{event_name}/{resource_name}/{when.isoformat()}"
        event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, key))
        access_key = "ASIA" + hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:16].upper()
        user = "fleet-operator"
        parameter = "endpointName" if resource_type == "Endpoint" else "inferenceComponentName"
        record = {
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "AssumedRole",
                "principalId": f"AROAEMULATEDFLEETOPS:{user}",
                "arn": f"arn:aws:sts::{account}:assumed-role/FleetOperator/{user}",
                "accountId": account,
                "accessKeyId": access_key,
            },
            "eventTime": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": "sagemaker.amazonaws.com",
            "eventName": event_name,
            "awsRegion": self.region,
            "sourceIPAddress": "198.51.100.7",
            "userAgent": "aws-cli/2.22.0 (emulated)",
            "requestParameters": {parameter: resource_name},
            "responseElements": None,
            "requestID": str(uuid.uuid5(uuid.NAMESPACE_OID, key)),
            "eventID": event_id,
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": account,
            "eventCategory": "Management",
        }
        return {
            "EventId": event_id,
            "EventName": event_name,
            "ReadOnly": "false",
            "AccessKeyId": access_key,
            "EventTime": when,
            "EventSource": "sagemaker.amazonaws.com",
            "Username": user,
            "Resources": [{"ResourceType": f"AWS::SageMaker::{resource_type}", "ResourceName": resource_name}],
            "CloudTrailEvent": json.dumps(record),
        }

    # -- metrics ----------------------------------------------------------------------

    def _traffic(self, segments: list[Segment], lifetime: Lifetime, metric: str, dims: dict[str, str]) -> None:
        for segment in segments:
            span = lifetime.clip(segment.start, segment.end)
            if span is not None:
                self.metrics.add(mn.SAGEMAKER_NAMESPACE, metric, dims, *span, segment.per_hour / 60, 60)

    def _enhanced(
        self,
        endpoint: FleetEndpoint,
        namespace: str,
        metric: str,
        dims: dict[str, str],
        start: datetime,
        end: datetime,
        value: float,
    ) -> None:
        """An enhanced-metrics series of ``endpoint``, at its publish frequency, but in its gaps."""
        for lo, hi in _outside(start, end, endpoint.metrics.gaps):
            self.metrics.add(namespace, metric, dims, lo, hi, value, endpoint.metrics.publish_frequency_s)

    def _seed_metrics(self, endpoint: FleetEndpoint, where: str) -> None:
        lifetime = endpoint_lifetime(endpoint)
        for variant in endpoint.variants:
            vdims = {mn.DIM_ENDPOINT: endpoint.name, mn.DIM_VARIANT: variant.name}
            if endpoint.kind == "async":
                self._traffic(variant.traffic, lifetime, mn.ASYNC_PROCESSED_METRICS[0], {mn.DIM_ENDPOINT: endpoint.name})
            else:
                self._traffic(variant.traffic, lifetime, mn.INVOCATIONS, vdims)
            for component in variant.inference_components or []:
                self._traffic(
                    component.traffic,
                    component_lifetime(endpoint, component),
                    mn.INVOCATIONS,
                    {mn.DIM_COMPONENT: component.name},
                )
            if variant.serverless is not None:
                continue
            spec = INSTANCE_SPECS.get(variant.instance_type or "")
            cpu_value = 25.0 if variant.cpu_utilization_pct is None or spec is None else variant.cpu_utilization_pct * spec.vcpus
            for start, end, placements, instances in self._placements(endpoint, variant, where):
                if instances:
                    self._standard_utilization(variant, vdims, start, end)
                if not endpoint.metrics.enhanced:
                    continue
                cpu_metric = mn.CPU_UTILIZATION if variant.inference_components is None else mn.CPU_UTILIZATION_NORMALIZED
                for instance in instances:
                    dims = vdims | {mn.DIM_INSTANCE: instance}
                    self._enhanced(endpoint, mn.ENHANCED_ENDPOINTS_NAMESPACE, cpu_metric, dims, start, end, cpu_value)
                for component, copy_index, instance, gpus in placements:
                    for gpu in gpus:
                        dims = vdims | {
                            mn.DIM_INSTANCE: instance,
                            mn.DIM_CONTAINER: f"{component.name}-{copy_index}",
                            mn.DIM_COMPONENT: component.name,
                            self.fleet.gpu_dimension: str(gpu),
                        }
                        self._enhanced(
                            endpoint,
                            mn.ENHANCED_COMPONENTS_NAMESPACE,
                            mn.GPU_UTILIZATION,
                            dims,
                            start,
                            end,
                            component.gpu_utilization_pct,
                        )

    def _standard_utilization(self, variant: FleetVariant, dims: dict[str, str], start: datetime, end: datetime) -> None:
        """A classic variant's standard instance metrics, when the fleet gives their values (an
        extension): ``CPUUtilization`` and ``GPUUtilization`` of ``/aws/sagemaker/Endpoints``
        (EndpointName, VariantName), a sample a minute while instances run, summed over the
        instance's vCPUs (GPUs) as SageMaker publishes them. Enhanced-metric gaps do not apply."""
        spec = INSTANCE_SPECS.get(variant.instance_type or "")
        if spec is None:
            return
        namespace = mn.ENHANCED_ENDPOINTS_NAMESPACE
        if variant.cpu_utilization_pct is not None:
            self.metrics.add(namespace, mn.CPU_UTILIZATION, dims, start, end, variant.cpu_utilization_pct * spec.vcpus, 60)
        if variant.gpu_utilization_pct is not None and spec.gpus:
            self.metrics.add(namespace, mn.VARIANT_GPU_UTILIZATION, dims, start, end, variant.gpu_utilization_pct * spec.gpus, 60)

    # -- Application Auto Scaling -------------------------------------------------------

    def _seed_autoscaling(self, endpoint: FleetEndpoint) -> None:
        """The fleet's ``autoscaling`` (an extension): each a scalable target (``scalable_targets``,
        as DescribeScalableTargets lists it) with one target-tracking policy (``scaling_policies``)."""
        wanted: list[tuple[str, str, Any, dict[str, str]]] = []
        for variant in endpoint.variants:
            if variant.autoscaling is not None:
                dims = {mn.DIM_ENDPOINT: endpoint.name, mn.DIM_VARIANT: variant.name}
                wanted.append(
                    (f"endpoint/{endpoint.name}/variant/{variant.name}", AUTOSCALING_VARIANT, variant.autoscaling, dims)
                )
            for component in variant.inference_components or []:
                if component.autoscaling is not None:
                    dims = {mn.DIM_COMPONENT: component.name}
                    wanted.append((f"inference-component/{component.name}", AUTOSCALING_COMPONENT, component.autoscaling, dims))
        role = (
            f"arn:aws:iam::{self.account_id}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
            "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
        )
        for resource_id, dimension, spec, dims in wanted:
            self.scalable_targets[resource_id] = {
                "ServiceNamespace": "sagemaker",
                "ResourceId": resource_id,
                "ScalableDimension": dimension,
                "MinCapacity": spec.min,
                "MaxCapacity": spec.max,
                "RoleARN": role,
                "CreationTime": endpoint.created_at,
                "ScalableTargetARN": f"arn:aws:application-autoscaling:{self.region}:{self.account_id}:scalable-target/"
                + hashlib.sha1(resource_id.encode(), usedforsecurity=False).hexdigest()[:36],
            }
            body: dict[str, Any] = {"TargetValue": float(spec.target)}
            if spec.metric in AUTOSCALING_PREDEFINED:
                body["PredefinedMetricSpecification"] = {"PredefinedMetricType": spec.metric}
            else:
                namespace = (
                    mn.ENHANCED_COMPONENTS_NAMESPACE if dimension == AUTOSCALING_COMPONENT else mn.ENHANCED_ENDPOINTS_NAMESPACE
                )
                body["CustomizedMetricSpecification"] = {
                    "MetricName": spec.metric,
                    "Namespace": namespace,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                    "Statistic": "Average",
                    "Unit": "Percent",
                }
            name = f"{spec.metric}-target-tracking"
            self.scaling_policies.append(
                {
                    "PolicyARN": f"arn:aws:autoscaling:{self.region}:{self.account_id}:scalingPolicy:"
                    f"{uuid.uuid5(uuid.NAMESPACE_URL, resource_id + name)}:resource/sagemaker/{resource_id}:policyName/{name}",
                    "PolicyName": name,
                    "ServiceNamespace": "sagemaker",
                    "ResourceId": resource_id,
                    "ScalableDimension": dimension,
                    "PolicyType": "TargetTrackingScaling",
                    "TargetTrackingScalingPolicyConfiguration": body,
                    "Alarms": [],
                    "CreationTime": endpoint.created_at,
                }
            )

    def _placements(
        self, endpoint: FleetEndpoint, variant: FleetVariant, where: str
    ) -> Iterator[tuple[datetime, datetime, list[tuple[FleetComponent, int, str, list[int]]], list[str]]]:
        """Copies packed first-fit onto instances, for each stretch where counts hold (and
        while the endpoint exists). Only components that exist in a stretch are packed."""
        lifetime = endpoint_lifetime(endpoint)
        instances_tl = instance_timeline(endpoint, variant)
        components = variant.inference_components or []
        copies_tls = [copies_timeline(endpoint, c) for c in components]
        lifetimes = [component_lifetime(endpoint, c) for c in components]
        points = {lifetime.start, self.fleet.history_start, self.fleet.now}
        points.update(instances_tl.breakpoints())
        for tl in copies_tls:
            points.update(tl.breakpoints())
        for life in [lifetime, *lifetimes]:
            points.update(t for t in (life.start, life.end) if t is not None)
        top = self.fleet.now if lifetime.end is None else min(self.fleet.now, lifetime.end)
        bottom = max(self.fleet.history_start, lifetime.start)
        edges = sorted(p for p in points if bottom <= p <= top)
        spec = INSTANCE_SPECS.get(variant.instance_type or "")
        prefix = hashlib.sha1(f"{endpoint.name}/{variant.name}".encode(), usedforsecurity=False).hexdigest()[:10]
        for start, end in pairwise(edges):
            count = instances_tl.at(start)
            instances = [f"i-{prefix}{n:06x}" for n in range(count)]
            free_gpus = [list(range(spec.gpus if spec else 0)) for _ in instances]
            free_cores = [float(spec.vcpus if spec else 0) for _ in instances]
            placements = []
            for component, tl, life in zip(components, copies_tls, lifetimes, strict=True):
                if not life.alive(start):
                    continue
                need_gpus = math.ceil(component.accelerators_per_copy)
                for copy_index in range(tl.at(start)):
                    slot = next(
                        (
                            i
                            for i in range(count)
                            if len(free_gpus[i]) >= need_gpus and free_cores[i] >= component.cpu_cores_per_copy
                        ),
                        None,
                    )
                    if slot is None:
                        raise InputError(
                            where,
                            f"copies do not fit: at {start:%Y-%m-%dT%H:%M:%SZ} copy {copy_index + 1} of "
                            f"{component.name} needs {need_gpus} GPUs and {component.cpu_cores_per_copy:g} cores, "
                            f"and {count} x {variant.instance_type} have no room"
                            + ("" if spec else " (unknown instance type: no GPUs known)"),
                        )
                    gpus, free_gpus[slot] = free_gpus[slot][:need_gpus], free_gpus[slot][need_gpus:]
                    free_cores[slot] -= component.cpu_cores_per_copy
                    placements.append((component, copy_index, instances[slot], gpus))
            yield start, end, placements, instances


# ---------------------------------------------------------------------------------------
# The emulated AWS.


@dataclass(frozen=True)
class _Call:
    """Who is calling: the caller's account (from its credentials), the client's region, and
    the estate of the two."""

    account_id: str
    region: str
    access_key: str | None
    estate: _Estate


class EmulatedAws:
    """Use as a context manager::

    with EmulatedAws(fleet) as aws:
        sagemaker = aws.client("sagemaker")
    """

    def __init__(
        self,
        fleet: Fleet,
        page_datapoints: int = DEFAULT_PAGE_DATAPOINTS,
        lost_replies: float = 0.0,
        spared: frozenset[str] = frozenset(),
        denied_accounts: frozenset[str] = frozenset(),
        tagging_covers_components: bool = True,
        latency_s: float = 0.0,
    ) -> None:
        """``lost_replies``: that share of DynamoDB writes is carried out but answered with an
        HTTP 500, as when a reply is lost on the way. ``spared``: operations the injected
        server errors leave alone (a test's choice; the fleet's ``faults`` hold the rates).
        ``denied_accounts``: accounts whose roles AssumeRole always refuses (AccessDenied).
        ``tagging_covers_components``: False makes the Tagging API know no inference
        components, refusing a ``sagemaker:inference-component`` filter (InvalidParameterException),
        as in a region where it does not cover them. ``latency_s``: every call waits that long
        (outside any lock, so concurrent callers overlap) before it is answered."""
        if latency_s < 0:
            raise ValueError(f"latency_s must be 0 or more, got {latency_s!r}")
        self.fleet = fleet
        self.lost_replies = lost_replies
        self.spared = spared
        self.denied_accounts = frozenset(denied_accounts)
        self.tagging_covers_components = tagging_covers_components
        self.latency_s = latency_s
        self.account_id = fleet.account_id  # the central account: the default session's
        self.region = fleet.region  # the central region
        self.now = fleet.now  # the fleet's now: the latest instant the clock can be set to
        self.clock = fleet.now
        self.page_datapoints = page_datapoints
        self.calls: Counter[str] = Counter()
        """Calls by operation, every estate's."""
        self.calls_by_estate: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        """Calls by operation, by the caller's (account, region)."""
        self._faults_on = False
        self._rng = random.Random(fleet.faults.seed if fleet.faults else 0)  # noqa: S311 - reproducible faults
        self._lock = threading.Lock()
        self._mock: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._estates = {e.key: _Estate(fleet, e.account_id, e.region, e, self.clock) for e in fleet.estates}
        self._empty: dict[tuple[str, str], _Estate] = {}  # the (account, region)s the fleet does not hold, once asked
        central = self._estates.get((fleet.account_id, fleet.region)) or next(iter(self._estates.values()))
        self.metrics = central.metrics  # the central estate's (else the first one's) CloudWatch
        self._accounts = list(dict.fromkeys([fleet.account_id, *(e.account_id for e in fleet.estates)]))
        self._first_in_region: dict[str, _Estate] = {}
        for estate in self._estates.values():
            self._first_in_region.setdefault(estate.region, estate)
        self._sessions: dict[str, tuple[str, str, str]] = {}  # access key -> (account, role name, session name)
        self._issued = 0
        self.session: boto3.Session | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> EmulatedAws:
        from moto import mock_aws  # the emulator is the only product code that needs moto

        env = {
            "MOTO_ACCOUNT_ID": self.fleet.account_id,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
        }
        for key, value in env.items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        self._mock = mock_aws()
        self._mock.start()
        _forget_dynamodb_items()
        self.session = boto3.Session(region_name=self.region)
        self.attach(self.session)
        self._install_item_level_transactions()
        try:
            self._seed()
        except BaseException:
            self.__exit__()  # a fleet that cannot be seeded leaves no emulated AWS behind
            raise
        self.calls.clear()
        self.calls_by_estate.clear()
        self._faults_on = self.fleet.faults is not None
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._faults_on = False
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def client(self, service: str, region: str | None = None) -> Any:
        assert self.session is not None, "use EmulatedAws as a context manager"
        return self.session.client(service, region_name=region or self.region)

    def set_clock(self, when: datetime) -> None:
        """From now on answer as of ``when`` (aware UTC, from the fleet's history start to its
        ``now`` inclusive), in every estate: SageMaker lists and describes what exists then,
        with the counts of then; CloudWatch holds no sample at or after it; CloudTrail no
        event after it."""
        if when.tzinfo is None or when.utcoffset() != timedelta(0):
            raise ValueError(f"the emulated clock takes an aware UTC datetime, got {when!r}")
        when = when.astimezone(UTC)
        if not self.fleet.history_start <= when <= self.now:
            raise ValueError(
                f"the emulated clock must be within the fleet's history, {self.fleet.history_start:%Y-%m-%dT%H:%M:%SZ} "
                f"to {self.now:%Y-%m-%dT%H:%M:%SZ}, got {when:%Y-%m-%dT%H:%M:%SZ}"
            )
        with self._lock:
            self.clock = when
            for estate in [*self._estates.values(), *self._empty.values()]:
                estate.metrics.set_clock(when)

    def attach(self, session: boto3.Session) -> None:
        """Route ``session``'s clients through the emulator (e.g. ``boto3.DEFAULT_SESSION``
        for a Lambda handler under test, or a session made of AssumeRole's credentials, which
        then acts in the role's account). Clients made before this call are not affected;
        attaching a session twice is attaching it once."""
        events = session._session.get_component("event_emitter")
        tag = f"spendwatch-emulator-{id(self)}"
        events.register("before-parameter-build", self._remember_params, unique_id=f"{tag}-params")
        events.register_first("before-call", self._before_call, unique_id=f"{tag}-call")
        events.register("after-call.dynamodb", self._lose_reply, unique_id=f"{tag}-lose")

    def _lose_reply(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        """A write carried out whose answer never arrives: the caller sees an HTTP 500."""
        if not self._faults_on or model.name not in LOST_REPLY_OPERATIONS or http_response.status_code >= 300:
            return
        with self._lock:
            lose = self._rng.random() < self.lost_replies
        if lose:
            http_response.status_code = 500
            parsed["Error"] = {"Code": "InternalServerError", "Message": "reply lost (injected fault)"}
            parsed.setdefault("ResponseMetadata", {})["HTTPStatusCode"] = 500

    # -- botocore hooks -------------------------------------------------------------------

    def _remember_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[_PARAMS] = dict(params)

    def _estate(self, account_id: str, region: str) -> _Estate:
        key = (account_id, region)
        estate = self._estates.get(key) or self._empty.get(key)
        if estate is None:
            with self._lock:
                estate = self._empty.get(key)
                if estate is None:
                    estate = self._empty[key] = _Estate(self.fleet, account_id, region, None, self.clock)
        return estate

    def _caller(self, request_signer: Any, context: dict[str, Any]) -> _Call:
        """The caller's account (an assumed role's, by its access key, else the central one)
        and the client's region, from the request signer botocore passes to ``before-call``."""
        region = getattr(request_signer, "region_name", None) or context.get("client_region") or self.region
        credentials = getattr(request_signer, "_credentials", None)
        access_key = getattr(credentials, "access_key", None) if credentials is not None else None
        match = _ASSUMED_KEY.match(access_key) if isinstance(access_key, str) else None
        account = match.group(1) if match else self.account_id
        return _Call(account, region, access_key, self._estate(account, region))

    def _before_call(
        self, model: Any, context: dict[str, Any], request_signer: Any = None, **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        operation = model.name
        service = model.service_model.service_name
        call = self._caller(request_signer, context)
        with self._lock:
            self.calls[operation] += 1
            self.calls_by_estate[(call.account_id, call.region)][operation] += 1
            fault = self._draw_fault(operation)
        if self.latency_s:
            time.sleep(self.latency_s)  # outside the lock: concurrent callers wait together
        if fault is not None:
            return _error_response(*fault)
        handler: Callable[[_Call, dict[str, Any]], dict[str, Any] | None] | None = getattr(
            self, f"_{service.replace('-', '_')}_{operation}", None
        )
        if handler is None:
            return None  # moto answers
        try:
            response = handler(call, context.get(_PARAMS, {}))
        except EmulatorError as exc:
            return _error_response(exc.code, exc.message, exc.status)
        if response is None:
            return None
        if model.output_shape is not None:  # DeleteEndpoint and the like answer with nothing
            validate_parameters(response, model.output_shape)
        # A copy: callers (botocore's parsers, user code) must never alter the emulated state.
        response = {**copy.deepcopy(response), "ResponseMetadata": {"HTTPStatusCode": 200, "RequestId": "emulated"}}
        return AWSResponse(None, 200, {}, None), response

    def _draw_fault(self, operation: str) -> tuple[str, str, int] | None:
        if not self._faults_on or self.fleet.faults is None:
            return None
        draw = self._rng.random()
        if draw < self.fleet.faults.throttle_rate:
            return ("ThrottlingException", "Rate exceeded (injected fault)", 400)
        if draw < self.fleet.faults.throttle_rate + self.fleet.faults.error_rate and operation not in self.spared:
            return ("InternalFailure", "Internal failure (injected fault)", 500)
        return None

    def _install_item_level_transactions(self) -> None:
        from moto.dynamodb.comparisons import get_filter_expression
        from moto.dynamodb.exceptions import (
            MultipleTransactionsException,
            TooManyTransactionsException,
            TransactionCanceledException,
        )
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[self.fleet.account_id][self.region]

        def transact_write_items(transact_items: list[dict[str, Any]]) -> None:
            if len(transact_items) > 100:
                raise TooManyTransactionsException()
            plan: list[tuple[str, dict[str, Any], dict[str, Any], Any]] = []
            errors: list[tuple[str | None, str | None, None]] = []
            seen: set[tuple[str, str]] = set()
            for entry in transact_items:
                op_type, op = next(iter(entry.items()))
                table = backend.get_table(op["TableName"])
                if op_type == "Put":
                    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = op["Item"][table.range_key_attr]
                else:
                    key = op["Key"]
                ident = (op["TableName"], json.dumps(key, sort_keys=True))
                if ident in seen:
                    raise MultipleTransactionsException()
                seen.add(ident)
                current = backend.get_item(op["TableName"], key)
                condition = op.get("ConditionExpression")
                absent = _ABSENT.match(condition or "")
                if absent:  # the ledger's "write once" check, without moto's expression parser
                    holds = current is None or absent.group(1) not in current.attrs
                else:
                    holds = not condition or get_filter_expression(
                        condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                    ).expr(current)
                errors.append((None, None, None) if holds else ("ConditionalCheckFailed", "The conditional request failed", None))
                plan.append((op_type, op, key, current.to_json()["Attributes"] if current is not None else None))
            if any(code is not None for code, _, _ in errors):
                raise TransactionCanceledException(errors)
            applied: list[tuple[str, dict[str, Any], Any]] = []
            try:
                for op_type, op, key, before in plan:
                    names, values = op.get("ExpressionAttributeNames") or {}, op.get("ExpressionAttributeValues") or {}
                    if op_type == "Put":
                        backend.put_item(op["TableName"], op["Item"])
                    elif op_type == "Delete":
                        backend.delete_item(op["TableName"], key)
                    elif op_type == "Update":
                        added = _add_and_set(before, key, op["UpdateExpression"], names, values)
                        if added is not None:  # a rollup's ADD/SET: applied here, as DynamoDB would
                            backend.put_item(op["TableName"], added)
                        else:
                            backend.update_item(
                                op["TableName"],
                                key,
                                update_expression=op["UpdateExpression"],
                                expression_attribute_names=names,
                                expression_attribute_values=values,
                            )
                    applied.append((op["TableName"], key, before))
            except Exception:
                for table_name, key, before in reversed(applied):  # all or nothing
                    if before is None:
                        backend.delete_item(table_name, key)
                    else:
                        backend.put_item(table_name, before)
                raise

        backend.transact_write_items = transact_write_items  # type: ignore[method-assign]

    # -- seeding --------------------------------------------------------------------------

    # -- seeding --------------------------------------------------------------------------

    def _seed(self) -> None:
        from spendwatch.core.ledger import TABLE_DEFINITION

        self.client("dynamodb").create_table(TableName=LEDGER_TABLE, **TABLE_DEFINITION)
        for estate in self._estates.values():
            estate.seed()

    # -- emulated SageMaker -------------------------------------------------------------

    def _endpoint_at_clock(self, estate: _Estate, name: str) -> _Endpoint | None:
        record = estate.endpoints.get(name)
        return record if record is not None and record.lifetime.alive(self.clock) else None

    def _endpoint_view(self, estate: _Estate, name: str) -> dict[str, Any] | None:
        """DescribeEndpoint's answer at the clock (None: no such endpoint then): the fleet's,
        with the changes made through the emulated API up to the clock applied in order."""
        record = self._endpoint_at_clock(estate, name)
        view = self._describe_endpoint(record) if record is not None else None
        for change in estate.endpoint_changes.get(name, ()):
            if change.at > self.clock:
                break
            if change.deleted:
                view = None
                continue
            if change.created:
                view = {
                    "EndpointName": name,
                    "EndpointArn": estate.arn("endpoint", name),
                    "EndpointConfigName": change.config_name,
                    "ProductionVariants": [],
                    "EndpointStatus": "InService",
                    "CreationTime": change.at,
                }
            if view is None:
                continue
            if change.config_name:
                view["EndpointConfigName"] = change.config_name
            config = estate.configs.get(view["EndpointConfigName"])
            if config is not None:
                view["ProductionVariants"] = _variants_of(config, dict(change.counts))
            view["LastModifiedTime"] = change.at
        return view

    def _endpoint_names(self, estate: _Estate) -> list[str]:
        return list(dict.fromkeys([*estate.endpoints, *estate.endpoint_changes]))

    def _describe_endpoint(self, record: _Endpoint) -> dict[str, Any]:
        endpoint = record.spec
        variants = []
        for variant, timeline in zip(endpoint.variants, record.instances, strict=True):
            entry: dict[str, Any] = {"VariantName": variant.name}
            if variant.serverless is not None:
                serverless = {
                    "MemorySizeInMB": variant.serverless.memory_mb,
                    "MaxConcurrency": variant.serverless.max_concurrency,
                }
                entry |= {"CurrentServerlessConfig": serverless, "DesiredServerlessConfig": dict(serverless)}
            else:
                assert timeline is not None
                count = timeline.at(self.clock)
                entry |= {"CurrentInstanceCount": count, "DesiredInstanceCount": count}
            variants.append(entry)
        return {
            "EndpointName": endpoint.name,
            "EndpointArn": record.arn,
            "EndpointConfigName": record.config_name,
            "ProductionVariants": variants,
            "EndpointStatus": endpoint.status,
            "CreationTime": endpoint.created_at,
            "LastModifiedTime": _latest(record.modified, self.clock),
        }

    def _listing(self, call: _Call, operation: str, params: dict[str, Any], build: Callable[[], list[Any]]) -> list[Any]:
        """What ``build`` lists for ``params`` but their paging, made once for all the pages
        (a listing of 10,000 endpoints is paged 100 at a time): kept per estate and operation
        until the clock or the other parameters change. Callers only slice it."""
        paging = ("NextToken", "PaginationToken", "MaxResults", "ResourcesPerPage")
        key = (self.clock, json.dumps({k: v for k, v in params.items() if k not in paging}, sort_keys=True, default=str))
        held = call.estate.listings.get(operation)
        if held is not None and held[0] == key:
            return held[1]
        items = build()
        call.estate.listings[operation] = (key, items)
        return items

    def _sagemaker_ListEndpoints(self, call: _Call, params: dict[str, Any]) -> dict[str, Any]:
        items = self._listing(call, "ListEndpoints", params, lambda: self._list_endpoints(call, params))
        return _page(items, params, "Endpoints", default=10, most=100)

    def _list_endpoints(self, call: _Call, params: dict[str, Any]) -> list[dict[str, Any]]:
        clock = self.clock
        changed = call.estate.endpoint_changes
        items: list[dict[str, Any]] = [
            {
                "EndpointName": r.spec.name,
                "EndpointArn": r.arn,
                "CreationTime": r.spec.created_at,
                "LastModifiedTime": _latest(r.modified, clock),
                "EndpointStatus": r.spec.status,
            }
            for r in call.estate.endpoints.values()
            if r.spec.name not in changed and r.lifetime.alive(clock)
        ]
        for name in changed:
            view = self._endpoint_view(call.estate, name)
            if view is not None:
                items.append(
                    {k: view[k] for k in ("EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime", "EndpointStatus")}
                )
        if params.get("NameContains"):
            items = [e for e in items if params["NameContains"] in e["EndpointName"]]
        if params.get("StatusEquals"):
            items = [e for e in items if e["EndpointStatus"] == params["StatusEquals"]]
        for key in ("CreationTime", "LastModifiedTime"):
            if params.get(f"{key}Before") is not None:
                before = _time(params[f"{key}Before"])
                items = [e for e in items if e[key] < before]
            if params.get(f"{key}After") is not None:
                after = _time(params[f"{key}After"])
                items = [e for e in items if e[key] > after]
        sort_key = {"Name": "EndpointName", "Status": "EndpointStatus"}.get(params.get("SortBy", "CreationTime"), "CreationTime")
        items.sort(
            key=lambda e: (e[sort_key], e["EndpointName"]),
            reverse=params.get("SortOrder", "Descending") == "Descending",
        )
        return items

    def _sagemaker_DescribeEndpoint(self, call: _Call, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("EndpointName", "")
        view = self._endpoint_view(call.estate, name)
        if view is None:
            raise EmulatorError("ValidationException", f"Could not find endpoint '{call.estate.arn('endpoint', name)}'.")
        return view

    def _sagemaker_DescribeEndpointConfig(self, call: _Call, params: dict[str, Any]) -> dict[str, Any] | None:
        name = params.get("EndpointConfigName", "")
        if name in call.estate.deleted_configs and name not in call.estate.configs:
            raise EmulatorError(
                "ValidationException", f'Could not find endpoint configuration "{call.estate.arn("endpoint-config", name)}".'
            )
        return call.estate.configs.get(name) or None

    def _component_at_clock(self, record: _Component, estate: _Estate | None = None) -> dict[str, Any]:
        copies = record.copies.at(self.clock)
        modified = _latest(record.modified, self.clock)
        for at, count in estate.copies_changes.get(record.description["InferenceComponentName"], ()) if estate else ():
            if at > self.clock:
                break
            copies, modified = count, at
        return record.description | {
            "RuntimeConfig": {"DesiredCopyCount": copies, "CurrentCopyCount": copies},
            "LastModifiedTime": modified,
        }

    def _sagemaker_ListInferenceComponents(self, call: _Call, params: dict[str, Any]) -> dict[str, Any]:
        items = self._listing(call, "ListInferenceComponents", params, lambda: self._list_components(call, params))
        return _page(items, params, "InferenceComponents", default=10, most=100)

    def _list_components(self, call: _Call, params: dict[str, Any]) -> list[dict[str, Any]]:
        items = [
            self._component_at_clock(c, call.estate) for c in call.estate.components.values() if c.lifetime.alive(self.clock)
        ]
        if params.get("EndpointNameEquals"):
            items = [c for c in items if c["EndpointName"] == params["EndpointNameEquals"]]
        if params.get("VariantNameEquals"):
            items = [c for c in items if c["VariantName"] == params["VariantNameEquals"]]
        if params.get("StatusEquals"):
            items = [c for c in items if c["InferenceComponentStatus"] == params["StatusEquals"]]
        if params.get("NameContains"):
            items = [c for c in items if params["NameContains"] in c["InferenceComponentName"]]
        for key in ("CreationTime", "LastModifiedTime"):
            if params.get(f"{key}Before") is not None:
                before = _time(params[f"{key}Before"])
                items = [c for c in items if c[key] < before]
            if params.get(f"{key}After") is not None:
                after = _time(params[f"{key}After"])
                items = [c for c in items if c[key] > after]
        sort_by = params.get("SortBy", "CreationTime")
        sort_key = {"Name": "InferenceComponentName", "Status": "InferenceComponentStatus"}.get(sort_by, "CreationTime")
        items.sort(
            key=lambda c: (c[sort_key], c["InferenceComponentName"]),
            reverse=params.get("SortOrder", "Descending") == "Descending",
        )
        summaries = [
            {
                k: c[k]
                for k in (
                    "CreationTime",
                    "InferenceComponentArn",
                    "InferenceComponentName",
                    "EndpointArn",
                    "EndpointName",
                    "VariantName",
                    "InferenceComponentStatus",
                    "LastModifiedTime",
                )
            }
            for c in items
        ]
        return summaries

    def _sagemaker_DescribeInferenceComponent(self, call: _Call, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("InferenceComponentName", "")
        record = call.estate.components.get(name)
        if record is None or not record.lifetime.alive(self.clock):
            raise EmulatorError("ValidationException", f'Could not find inference component "{name}".')
        return self._component_at_clock(record, call.estate)

    def _sagemaker_ListTags(self, call: _Call, params: dict[str, Any]) -> dict[str, Any]:
        arn = params.get("ResourceArn", "")
        found = self._tags_at_clock(call.estate, arn)
        if found is None:
            raise EmulatorError("ValidationException", f"Resource {arn} does not exist.")
        tags = [{"Key": k, "Value": v} for k, v in sorted(found.items())]
        return _page(tags, params, "Tags", default=50, most=None)

    # -- emulated changes ----------------------------------------------------------------
    #
    # What remediation does through the API (moto has no inference components, and keeps no
    # history): each change is recorded with the clock's instant and is in force from then on,
    # for every answer above (List, Describe, ListTags, GetResources), while the fleet's own
    # timelines still answer for the time before it. A deletion is a CloudTrail event too.

    def _tags_at_clock(self, estate: _Estate, arn: str) -> dict[str, str] | None:
        """The tags of a resource at the clock, or None when it does not exist then."""
        held = estate.tags.get(arn)
        found = dict(held[1]) if held is not None and held[0].alive(self.clock) else None
        for at, tags in estate.tag_changes.get(arn, ()):
            if at > self.clock:
                break
            found = None if tags is None else dict(tags)
        return found

    def _tagged_at_clock(self, estate: _Estate) -> list[_Tagged]:
        """What GetResources lists (resources with tags), the changes up to the clock applied."""
        if not estate.tag_changes:
            return estate.tagged
        always = Lifetime(self.fleet.history_start - timedelta(days=36_500))
        listed = {t.arn: t for t in estate.tagged if t.arn not in estate.tag_changes}
        for arn in estate.tag_changes:
            tags = self._tags_at_clock(estate, arn)
            if tags:
                kind = arn.split(":", 5)[5].split("/", 1)[0]  # endpoint, inference-component, endpoint-config
                listed[arn] = _Tagged(arn, kind, always, tags)
        return [listed[arn] for arn in sorted(listed)]

    def _change(self, estate: _Estate) -> datetime:
        """The instant of a change: the clock. Listings made before it are stale."""
        estate.listings.clear()
        return self.clock

    def _change_endpoint(self, estate: _Estate, name: str, change: _EndpointChange) -> None:
        history = estate.endpoint_changes.setdefault(name, [])
        history.append(change)
        history.sort(key=lambda c: c.at)

    def _change_tags(self, estate: _Estate, arn: str, at: datetime, tags: dict[str, str] | None) -> None:
        history = estate.tag_changes.setdefault(arn, [])
        history.append((at, tags))
        history.sort(key=lambda c: c[0])

    def _current_counts(self, view: dict[str, Any]) -> dict[str, int]:
        return {
            v["VariantName"]: int(v["CurrentInstanceCount"]) for v in view["ProductionVariants"] if "CurrentInstanceCount" in v
        }

    def _placed(self, estate: _Estate, endpoint_name: str, variant_name: str) -> int:
        """Copies of the endpoint's variant's components at the clock."""
        total = 0
        for record in estate.components.values():
            d = record.description
            if d["EndpointName"] == endpoint_name and d["VariantName"] == variant_name and record.lifetime.alive(self.clock):
                total += int(self._component_at_clock(record, estate)["RuntimeConfig"]["CurrentCopyCount"])
        return total

    def _counts_for(self, estate: _Estate, endpoint_name: str, config: dict[str, Any]) -> dict[str, int]:
        """The instances each variant of ``config`` runs once deployed: its InitialInstanceCount,
        or none where managed instance scaling may go down to 0 and no copy is placed."""
        counts = {}
        for variant in config["ProductionVariants"]:
            if "ServerlessConfig" in variant:
                continue
            scaling = variant.get("ManagedInstanceScaling") or {}
            to_zero = scaling.get("Status") == "ENABLED" and scaling.get("MinInstanceCount") == 0
            idle = to_zero and self._placed(estate, endpoint_name, variant["VariantName"]) == 0
            counts[variant["VariantName"]] = 0 if idle else int(variant.get("InitialInstanceCount", 1))
        return counts

    def _sagemaker_CreateEndpointConfig(self, call: _Call, params: dict[str, Any]) -> dict[str, Any]:
        estate, name = call.estate, params["EndpointConfigName"]
        arn = estate.arn("endpoint-config", name)
        if name in estate.configs:
            raise EmulatorError("ValidationException", f'Cannot create already existing endpoint configuration "{arn}".')
        for variant in params["ProductionVariants"]:
            scaling = variant.get("ManagedInstanceScaling") or {}
            if scaling and (variant.get("ModelName") or "ServerlessConfig" in variant):
                raise EmulatorError(
                    "ValidationException",
                    f"ManagedInstanceScaling is only supported for variants that host inference components "
                    f"({variant['VariantName']} names a model or is serverless).",
                )
            if scaling.get("MinInstanceCount", 1) > scaling.get("MaxInstanceCount", 1):
                raise EmulatorError("ValidationException", "MinInstanceCount must not exceed MaxInstanceCount.")
        at = self._change(estate)
        members = _output_members("sagemaker", "DescribeEndpointConfig")
        estate.configs[name] = {k: copy.deepcopy(v) for k, v in params.items() if k in members} | {
            "EndpointConfigArn": arn,
            "CreationTime": at,
        }
        estate.deleted_configs.discard(name)
        self._change_tags(estate, arn, at, {t["Key"]: t["Value"] for t in params.get("Tags", [])})
        return {"EndpointConfigArn": arn}

    def _sagemaker_DeleteEndpointConfig(self, call: _Call, params: dict[str, Any]) -> dict[str, Any]:
        estate, name = call.estate, params["EndpointConfigName"]
        estate.config(name)
        at = self._change(estate)
        del estate.configs[name]
        estate.deleted_configs.add(name)
        self._change_tags(estate, estate.arn("endpoint-config", name), at, None)
        return {}

    def _sagemaker_CreateEndpoint(self, call: _Call, params: dict[str, Any]) -> dict[str, Any]:
        estate, name, config_name = call.estate, params["EndpointName"], params["EndpointConfigName"]
        arn = estate.arn("endpoint", name)
        if self._endpoint_view(estate, name) is not None:
            raise EmulatorError("ValidationException", f'Cannot create already existing endpoint "{arn}".')
        config = estate.config(config_name)
        at = self._change(estate)
        counts = self._counts_for(estate, name, config)
        self._change_endpoint(
            estate, name, _EndpointChange(at, created=True, config_name=config_name, counts=tuple(sorted(counts.items())))
        )
        self._change_tags(estate, arn, at, {t["Key"]: t["Value"] for t in params.get("Tags", [])})
        return {"EndpointArn": arn}

    def _sagemaker_UpdateEndpoint(self, call: _Call, params: dict[str, Any]) -> dict[str, Any]:
        estate, name, config_name = call.estate, params["EndpointName"], params["EndpointConfigName"]
        view = self._endpoint_view(estate, name)
        if view is None:
            raise EmulatorError("ValidationException", f"Could not find endpoint '{estate.arn('endpoint', name)}'.")
        if view["EndpointStatus"] != "InService":
            raise EmulatorError(
                "ValidationException", f"Cannot update endpoint in status {view['EndpointStatus']}: it must be InService."
            )
        config = estate.config(config_name)
        at = self._change(estate)
        counts = self._counts_for(estate, name, config)
        self._change_endpoint(estate, name, _EndpointChange(at, config_name=config_name, counts=tuple(sorted(counts.items()))))
        return {"EndpointArn": view["EndpointArn"]}

    def _sagemaker_UpdateEndpointWeightsAndCapacities(self, call: _Call, params: dict[str, Any]) -> dict[str, Any]:
        estate, name = call.estate, params["EndpointName"]
        view = self._endpoint_view(estate, name)
        if view is None:
            raise EmulatorError("ValidationException", f"Could not find endpoint '{estate.arn('endpoint', name)}'.")
        counts = self._current_counts(view)
        for wanted in params["DesiredWeightsAndCapacities"]:
            if wanted["VariantName"] not in counts:
                raise EmulatorError(
                    "ValidationException", f"The variant name(s) [{wanted['VariantName']}] is/are not present on endpoint {name}."
                )
            if "DesiredInstanceCount" in wanted:
                counts[wanted["VariantName"]] = int(wanted["DesiredInstanceCount"])
        at = self._change(estate)
        self._change_endpoint(estate, name, _EndpointChange(at, counts=tuple(sorted(counts.items()))))
        return {"EndpointArn": view["EndpointArn"]}

    def _sagemaker_DeleteEndpoint(self, call: _Call, params: dict[str, Any]) -> dict[str, Any]:
        estate, name = call.estate, params["EndpointName"]
        view = self._endpoint_view(estate, name)
        if view is None:
            raise EmulatorError("ValidationException", f"Could not find endpoint '{estate.arn('endpoint', name)}'.")
        at = self._change(estate)
        self._change_endpoint(estate, name, _EndpointChange(at, deleted=True))
        self._change_tags(estate, view["EndpointArn"], at, None)
        estate.trail.append(estate._deletion("DeleteEndpoint", "Endpoint", name, at))
        estate.trail.sort(key=lambda e: (e["EventTime"], e["EventId"]), reverse=True)
        return {}

    def _sagemaker_UpdateInferenceComponentRuntimeConfig(self, call: _Call, params: dict[str, Any]) -> dict[str, Any]:
        estate, name = call.estate, params["InferenceComponentName"]
        record = estate.components.get(name)
        if record is None or not record.lifetime.alive(self.clock):
            raise EmulatorError("ValidationException", f'Could not find inference component "{name}".')
        endpoint = self._endpoint_view(estate, record.description["EndpointName"])
        if endpoint is None:
            raise EmulatorError("ValidationException", f'Could not find inference component "{name}".')
        at = self._change(estate)
        history = estate.copies_changes.setdefault(name, [])
        history.append((at, int(params["DesiredRuntimeConfig"]["CopyCount"])))
        history.sort(key=lambda c: c[0])
        return {"InferenceComponentArn": record.description["InferenceComponentArn"]}

    # -- emulated Application Auto Scaling (the inference components' copy counts) ----------

    def _scalable(self, params: dict[str, Any]) -> bool:
        """Whether a call is about inference components' copy counts (else moto answers)."""
        if params.get("ServiceNamespace") != "sagemaker":
            return False
        dimension = params.get("ScalableDimension")
        ids = params.get("ResourceIds") or ([params["ResourceId"]] if params.get("ResourceId") else [])
        return dimension == _COPY_COUNT or (
            dimension is None and bool(ids) and all(i.startswith("inference-component/") for i in ids)
        )

    def _application_autoscaling_RegisterScalableTarget(self, call: _Call, params: dict[str, Any]) -> dict[str, Any] | None:
        if not self._scalable(params):
            return None
        estate, resource = call.estate, params["ResourceId"]
        name = resource.removeprefix("inference-component/")
        record = estate.components.get(name)
        if not resource.startswith("inference-component/") or record is None or not record.lifetime.alive(self.clock):
            raise EmulatorError("ValidationException", f"Inference component {name} does not exist.")
        at = self._change(estate)
        held = estate.scalable_targets.get(resource)
        target = (
            dict(held)
            if held is not None
            else {
                "ServiceNamespace": "sagemaker",
                "ResourceId": resource,
                "ScalableDimension": _COPY_COUNT,
                "RoleARN": f"arn:aws:iam::{call.account_id}:role/aws-service-role/"
                "sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
                "CreationTime": at,
                "ScalableTargetARN": f"arn:aws:application-autoscaling:{call.region}:{call.account_id}:scalable-target/"
                + hashlib.sha1(resource.encode(), usedforsecurity=False).hexdigest()[:28],
            }
        )
        for key in ("MinCapacity", "MaxCapacity"):
            if key in params:
                target[key] = int(params[key])
            elif key not in target:
                raise EmulatorError("ValidationException", f"{key} is required when registering a new scalable target.")
        if target["MinCapacity"] > target["MaxCapacity"]:
            raise EmulatorError("ValidationException", "Minimum capacity cannot be greater than maximum capacity.")
        estate.scalable_targets[resource] = target
        return {"ScalableTargetARN": target["ScalableTargetARN"]}

    def _application_autoscaling_DescribeScalableTargets(self, call: _Call, params: dict[str, Any]) -> dict[str, Any] | None:
        # Every SageMaker target is the estate's: the copy counts registered here and the fleet's
        # ``autoscaling`` (variants and components, seeded by _Estate._seed_autoscaling).
        if params.get("ServiceNamespace") != "sagemaker":
            return None
        wanted = set(params.get("ResourceIds") or ())
        dimension = params.get("ScalableDimension")
        found = [
            dict(t)
            for resource, t in sorted(call.estate.scalable_targets.items())
            if (not wanted or resource in wanted)
            and (not dimension or t["ScalableDimension"] == dimension)
            and t["CreationTime"] <= self.clock
        ]
        return _page(found, params, "ScalableTargets", default=50, most=50)

    # -- emulated CloudWatch ------------------------------------------------------------

    def _cloudwatch_GetMetricData(self, call: _Call, params: dict[str, Any]) -> dict[str, Any]:
        queries = params.get("MetricDataQueries", [])
        if not 1 <= len(queries) <= 500:
            raise EmulatorError("ValidationError", "The collection MetricDataQueries must not have a size greater than 500.")
        start, end = _time(params["StartTime"]), _time(params["EndTime"])
        if end <= start:
            raise EmulatorError("ValidationError", "The parameter StartTime must be less than the parameter EndTime.")
        flat: list[tuple[str, int, float]] = []
        ids: list[str] = []
        for query in queries:
            if "MetricStat" not in query:
                raise EmulatorError(
                    "ValidationError", "metric math and SEARCH expressions are not emulated: do the math in Python"
                )
            stat = query["MetricStat"]
            period = int(stat["Period"])
            if period < 60 or period % 60:
                raise EmulatorError(
                    "ValidationError", "The parameter Period must be a multiple of 60 (high resolution is not emulated)."
                )
            metric = stat["Metric"]
            dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            series = call.estate.metrics.find(metric["Namespace"], metric["MetricName"], dims)
            points = call.estate.metrics.datapoints(series, start, end, period, stat["Stat"]) if series else []
            if params.get("ScanBy", "TimestampDescending") == "TimestampDescending":
                points.reverse()
            ids.append(query["Id"])
            flat.extend((query["Id"], second, value) for second, value in points)
        offset = _offset(params, "InvalidNextToken")
        page = flat[offset : offset + self.page_datapoints]
        more = offset + self.page_datapoints < len(flat)
        grouped: dict[str, list[tuple[int, float]]] = {i: [] for i in ids} if offset == 0 else defaultdict(list)
        for query_id, second, value in page:
            grouped[query_id].append((second, value))
        continuing = {flat[offset + self.page_datapoints][0]} if more else set()
        results = [
            {
                "Id": query_id,
                "Label": query_id,
                "Timestamps": [_from_second(t) for t, _ in points],
                "Values": [v for _, v in points],
                "StatusCode": "PartialData" if query_id in continuing else "Complete",
            }
            for query_id, points in grouped.items()
        ]
        response: dict[str, Any] = {"MetricDataResults": results, "Messages": []}
        if more:
            response["NextToken"] = str(offset + self.page_datapoints)
        return response

    def _cloudwatch_ListMetrics(self, call: _Call, params: dict[str, Any]) -> dict[str, Any]:
        found = self._listing(call, "ListMetrics", params, lambda: self._list_metrics(call, params))
        offset = _offset(params, "InvalidParameterValue")
        response: dict[str, Any] = {"Metrics": found[offset : offset + LIST_METRICS_PAGE]}
        if offset + LIST_METRICS_PAGE < len(found):
            response["NextToken"] = str(offset + LIST_METRICS_PAGE)
        return response

    def _list_metrics(self, call: _Call, params: dict[str, Any]) -> list[dict[str, Any]]:
        recent = _second(self.clock - LIST_METRICS_RECENT)
        wanted = params.get("Dimensions", [])
        found = []
        for series in call.estate.metrics.all():
            if params.get("Namespace") and series.namespace != params["Namespace"]:
                continue
            if params.get("MetricName") and series.metric_name != params["MetricName"]:
                continue
            dims = dict(series.dimensions)
            if not all(f["Name"] in dims and ("Value" not in f or dims[f["Name"]] == f["Value"]) for f in wanted):
                continue
            last = call.estate.metrics.last_sample_end(series)  # None: no sample before the clock yet
            if last is None or last <= recent:
                continue
            found.append(
                {
                    "Namespace": series.namespace,
                    "MetricName": series.metric_name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in series.dimensions],
                }
            )
        return found

    # -- emulated Application Auto Scaling: scaling policies ---------------------------------
    # The caller's estate's (the fleet's ``autoscaling``; moto would answer every caller as the
    # central account), in the real API's shape and paging (10 a page).

    def _application_autoscaling_DescribeScalingPolicies(self, call: _Call, params: dict[str, Any]) -> dict[str, Any]:
        names = params.get("PolicyNames") or None
        items = [
            p
            for p in call.estate.scaling_policies
            if p["ServiceNamespace"] == params.get("ServiceNamespace")
            and (not params.get("ResourceId") or p["ResourceId"] == params["ResourceId"])
            and (not params.get("ScalableDimension") or p["ScalableDimension"] == params["ScalableDimension"])
            and (names is None or p["PolicyName"] in names)
        ]
        return _page(items, params, "ScalingPolicies", default=SCALING_POLICIES_PAGE, most=SCALING_POLICIES_PAGE)

    # -- emulated CloudTrail ------------------------------------------------------------

    def _cloudtrail_LookupEvents(self, call: _Call, params: dict[str, Any]) -> dict[str, Any]:
        attributes = params.get("LookupAttributes") or []
        if len(attributes) > 1:
            raise EmulatorError("InvalidLookupAttributesException", "You can specify at most one lookup attribute.")
        for attribute in attributes:
            if attribute.get("AttributeKey") not in _LOOKUP_KEYS:
                raise EmulatorError("InvalidLookupAttributesException", f"AttributeKey must be one of {', '.join(_LOOKUP_KEYS)}.")
        limit = int(params.get("MaxResults", LOOKUP_EVENTS_PAGE))
        if not 1 <= limit <= LOOKUP_EVENTS_PAGE:
            raise EmulatorError("InvalidMaxResultsException", f"MaxResults must be between 1 and {LOOKUP_EVENTS_PAGE}.")
        start = _time(params["StartTime"]) if params.get("StartTime") is not None else None
        end = _time(params["EndTime"]) if params.get("EndTime") is not None else None
        if start is not None and end is not None and start > end:
            raise EmulatorError("InvalidTimeRangeException", "StartTime must be before or equal to EndTime.")
        offset = _offset(params, "InvalidNextTokenException")
        oldest = self.clock - CLOUDTRAIL_RETENTION
        events = [
            e
            for e in call.estate.trail
            if oldest <= e["EventTime"] <= self.clock
            and (start is None or start <= e["EventTime"])
            and (end is None or e["EventTime"] <= end)
            and all(a["AttributeValue"] in _lookup_values(e, a["AttributeKey"]) for a in attributes)
        ]
        if params.get("EventCategory") == "insight":
            events = []  # the fleet has no Insights events
        response: dict[str, Any] = {"Events": events[offset : offset + limit]}
        if offset + limit < len(events):
            response["NextToken"] = str(offset + limit)
        return response

    # -- emulated Pricing ---------------------------------------------------------------

    def _pricing_GetProducts(self, call: _Call, params: dict[str, Any]) -> dict[str, Any]:
        """A region's prices: the built-in book's, overlaid with the fleet's for that region (the
        caller's account's estate there, else the region's first estate, else the top level's)."""
        if params.get("ServiceCode") != "AmazonSageMaker":
            return {"PriceList": [], "FormatVersion": "aws_v1"}
        filters = {f["Field"]: f["Value"] for f in params.get("Filters", [])}
        region = filters.get("regionCode", self.region)
        estate = self._estates.get((call.account_id, region)) or self._first_in_region.get(region)
        prices = estate.prices if estate is not None else _price_list(region, self.fleet.prices_usd_per_hour)
        items = []
        for instance_type, usd in sorted(prices.items()):
            if filters.get("instanceName", instance_type) != instance_type:
                continue
            sku = hashlib.sha1(f"{region}/{instance_type}".encode(), usedforsecurity=False).hexdigest()[:16].upper()
            items.append(
                json.dumps(
                    {
                        "product": {
                            "sku": sku,
                            "attributes": {
                                "instanceName": instance_type,
                                "regionCode": region,
                                "component": "Hosting",
                            },
                        },
                        "terms": {
                            "OnDemand": {
                                f"{sku}.JRTCKXETXF": {
                                    "priceDimensions": {
                                        f"{sku}.JRTCKXETXF.6YS6EN2CT7": {"unit": "Hrs", "pricePerUnit": {"USD": usd}}
                                    }
                                }
                            }
                        },
                    }
                )
            )
        limit = int(params.get("MaxResults", 100))
        offset = _offset(params, "InvalidNextTokenException")
        response: dict[str, Any] = {"PriceList": items[offset : offset + limit], "FormatVersion": "aws_v1"}
        if offset + limit < len(items):
            response["NextToken"] = str(offset + limit)
        return response

    # -- emulated Resource Groups Tagging API -------------------------------------------

    def _tagging_types(self, filters: list[str]) -> set[str]:
        """The SageMaker resource types ``ResourceTypeFilters`` asks for (none given: every type)."""
        known = {"endpoint", "inference-component"} if self.tagging_covers_components else {"endpoint"}
        if not filters:
            return known
        wanted: set[str] = set()
        for value in filters:
            service, _, resource_type = value.partition(":")
            if service != "sagemaker":
                continue  # another service's resources: the fleet holds none
            if resource_type == "inference-component" and not self.tagging_covers_components:
                raise EmulatorError(
                    "InvalidParameterException",
                    f"Unsupported resource type in ResourceTypeFilters: {value}",
                )
            wanted |= known if not resource_type else {resource_type} & known
        return wanted

    def _resourcegroupstaggingapi_GetResources(self, call: _Call, params: dict[str, Any]) -> dict[str, Any]:
        type_filters = params.get("ResourceTypeFilters") or []
        tag_filters = params.get("TagFilters") or []
        arns = params.get("ResourceARNList")
        if arns is not None and (type_filters or tag_filters):
            raise EmulatorError(
                "InvalidParameterException", "ResourceARNList cannot be combined with ResourceTypeFilters or TagFilters."
            )
        per_page = int(params.get("ResourcesPerPage", TAGGING_PAGE))
        if not 1 <= per_page <= TAGGING_MOST:
            raise EmulatorError("InvalidParameterException", f"ResourcesPerPage must be between 1 and {TAGGING_MOST}.")
        token = params.get("PaginationToken") or "0"
        if not token.isdigit():
            raise EmulatorError("InvalidParameterException", "The PaginationToken is not valid.")
        offset = int(token)
        types = self._tagging_types(type_filters)
        wanted_arns = set(arns) if arns is not None else None
        clock = self.clock
        found: list[_Tagged] = self._listing(
            call,
            "GetResources",
            params,
            lambda: [
                t
                for t in self._tagged_at_clock(call.estate)
                if t.resource_type in types
                and t.lifetime.alive(clock)
                and (wanted_arns is None or t.arn in wanted_arns)
                and all(f["Key"] in t.tags and (not f.get("Values") or t.tags[f["Key"]] in f["Values"]) for f in tag_filters)
            ],
        )
        page = found[offset : offset + per_page]
        return {
            # The real API's last page carries an empty token.
            "PaginationToken": str(offset + per_page) if offset + per_page < len(found) else "",
            "ResourceTagMappingList": [
                {"ResourceARN": t.arn, "Tags": [{"Key": k, "Value": v} for k, v in sorted(t.tags.items())]} for t in page
            ],
        }

    # -- emulated STS ---------------------------------------------------------------------

    def _principal(self, call: _Call) -> tuple[str, str]:
        """The caller's (ARN, UserId): the role session its credentials are of."""
        held = self._sessions.get(call.access_key or "")
        role, session = (held[1], held[2]) if held is not None else (CENTRAL_ROLE, CENTRAL_SESSION)
        return f"arn:aws:sts::{call.account_id}:assumed-role/{role}/{session}", f"{_role_id(call.account_id, role)}:{session}"

    def _sts_GetCallerIdentity(self, call: _Call, params: dict[str, Any]) -> dict[str, Any]:
        arn, user_id = self._principal(call)
        return {"UserId": user_id, "Account": call.account_id, "Arn": arn}

    def _sts_AssumeRole(self, call: _Call, params: dict[str, Any]) -> dict[str, Any]:
        """A role in the central account or in an account the fleet holds an estate of (but
        ``denied_accounts``) can be assumed; the credentials act in the role's account."""
        role_arn = str(params.get("RoleArn", ""))
        match = _ROLE_ARN.match(role_arn)
        if match is None:
            raise EmulatorError("ValidationError", f"{role_arn} is invalid")
        account, role = match.group(1), match.group(2)
        if account not in self._accounts or account in self.denied_accounts:
            caller, _ = self._principal(call)
            raise EmulatorError(
                "AccessDenied", f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}", 403
            )
        duration = int(params.get("DurationSeconds", 3600))
        if duration > MAX_SESSION_S:
            raise EmulatorError(
                "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            )
        session = str(params.get("RoleSessionName", ""))
        with self._lock:
            self._issued += 1
            access_key = f"ASIA{account}{self._issued % 0x10000:04X}"
            self._sessions[access_key] = (account, role, session)
        secret = hashlib.sha256(f"secret/{access_key}/{self._issued}".encode()).hexdigest()[:40]
        token = "IQoJb3JpZ2luX2VjE" + hashlib.sha256(f"token/{access_key}/{self._issued}".encode()).hexdigest()
        return {
            "Credentials": {
                "AccessKeyId": access_key,
                "SecretAccessKey": secret,
                "SessionToken": token,
                "Expiration": self.clock + timedelta(seconds=duration),
            },
            "AssumedRoleUser": {
                "AssumedRoleId": f"{_role_id(account, role)}:{session}",
                "Arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
            },
            "PackedPolicySize": 0,
        }

    # -- emulated Organizations -----------------------------------------------------------

    def _organizations_ListAccounts(self, call: _Call, params: dict[str, Any]) -> dict[str, Any]:
        """The central account (the organization's management account) and every account the
        fleet holds an estate of; only the central account may list them."""
        central = self.account_id
        if call.account_id != central:
            raise EmulatorError("AccessDeniedException", "You don't have permissions to access this resource.")
        limit = int(params.get("MaxResults", LIST_ACCOUNTS_PAGE))
        if not 1 <= limit <= LIST_ACCOUNTS_PAGE:
            raise EmulatorError("InvalidInputException", f"MaxResults must be between 1 and {LIST_ACCOUNTS_PAGE}.")
        offset = _offset(params, "InvalidInputException")
        joined = self.fleet.history_start - timedelta(days=365)
        accounts = [
            {
                "Id": account,
                "Arn": f"arn:aws:organizations::{central}:account/{ORGANIZATION_ID}/{account}",
                "Email": f"aws+{account}@example.com",
                "Name": f"account-{account}",
                "Status": "ACTIVE",
                "State": "ACTIVE",
                "JoinedMethod": "INVITED" if account == central else "CREATED",
                "JoinedTimestamp": joined,
            }
            for account in self._accounts[offset : offset + limit]
        ]
        response: dict[str, Any] = {"Accounts": accounts}
        if offset + limit < len(self._accounts):
            response["NextToken"] = str(offset + limit)
        return response


_COPY_COUNT = "sagemaker:inference-component:DesiredCopyCount"


def _variants_of(config: dict[str, Any], counts: dict[str, int]) -> list[dict[str, Any]]:
    """DescribeEndpoint's ProductionVariants for an endpoint deployed from ``config`` with ``counts`` instances."""
    variants = []
    for variant in config["ProductionVariants"]:
        entry: dict[str, Any] = {"VariantName": variant["VariantName"]}
        if "ServerlessConfig" in variant:
            serverless = {k: variant["ServerlessConfig"][k] for k in ("MemorySizeInMB", "MaxConcurrency")}
            entry |= {"CurrentServerlessConfig": serverless, "DesiredServerlessConfig": dict(serverless)}
        else:
            count = counts.get(variant["VariantName"], int(variant.get("InitialInstanceCount", 1)))
            entry |= {"CurrentInstanceCount": count, "DesiredInstanceCount": count}
        if variant.get("ManagedInstanceScaling"):
            entry["ManagedInstanceScaling"] = dict(variant["ManagedInstanceScaling"])
        variants.append(entry)
    return variants


_MEMBERS: dict[tuple[str, str], frozenset[str]] = {}


def _output_members(service: str, operation: str) -> frozenset[str]:
    """The members of an operation's output shape, in botocore's model."""
    key = (service, operation)
    if key not in _MEMBERS:
        import botocore.session

        model = botocore.session.get_session().get_service_model(service).operation_model(operation)
        _MEMBERS[key] = frozenset(model.output_shape.members) if model.output_shape is not None else frozenset()
    return _MEMBERS[key]


_LOOKUP_KEYS = ("EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName", "EventSource", "AccessKeyId")


def _role_id(account: str, role: str) -> str:
    """A role's unique id (AROA and 17 characters), stable for the role."""
    return "AROA" + hashlib.sha1(f"{account}/{role}".encode(), usedforsecurity=False).hexdigest()[:17].upper()


class _Untracked(list):  # type: ignore[type-arg]
    """A registry that keeps nothing."""

    def append(self, _: Any) -> None:
        return None


def _forget_dynamodb_items() -> None:
    """moto registers every model instance it makes, for its reset: every DynamoDB item ever
    written stays alive, replaced or not, and a ledger's backfill grows without bound. Items
    need no reset (their tables do), so they are not registered."""
    from moto.dynamodb.models.dynamo_type import Item

    Item.instances_tracked = _Untracked()  # type: ignore[attr-defined]


_ABSENT = re.compile(r"^attribute_not_exists\((\w+)\)$")
_ADD_SET = re.compile(r"^ADD ((?:#?\w+ :\w+)(?:, #?\w+ :\w+)*)(?: SET ((?:#?\w+ = :\w+)(?:, #?\w+ = :\w+)*))?$")


def _add_and_set(
    before: dict[str, Any] | None,
    key: dict[str, Any],
    expression: str,
    names: dict[str, str],
    values: dict[str, dict[str, Any]],
) -> dict[str, Any] | None:
    """The item after ``ADD n :v, ... SET a = :w, ...`` (numbers added, values set), as
    DynamoDB computes it, or None for any other expression (moto then evaluates it). moto
    parses and validates every update expression anew, which makes a ledger of thousands
    of rollup updates crawl; the result is the same."""
    matched = _ADD_SET.match(expression)
    if matched is None:
        return None
    item = dict(before) if before is not None else dict(key)
    for part in matched.group(1).split(", "):
        name, placeholder = part.split(" ")
        attribute, value = names.get(name, name), values.get(placeholder, {})
        current = item.get(attribute, {"N": "0"})
        if "N" not in value or "N" not in current:
            return None
        item[attribute] = {"N": str(Decimal(current["N"]) + Decimal(value["N"]))}
    for part in (matched.group(2) or "").split(", ") if matched.group(2) else []:
        name, placeholder = part.split(" = ")
        if placeholder not in values:
            return None
        item[names.get(name, name)] = values[placeholder]
    return item


def _lookup_values(event: dict[str, Any], key: str) -> list[str]:
    """The values of a LookupEvents attribute on an event (a resource attribute has one per resource)."""
    if key in ("ResourceType", "ResourceName"):
        return [r[key] for r in event.get("Resources", [])]
    return [str(event[key])] if key in event else []


def _outside(start: datetime, end: datetime, gaps: list[Gap]) -> list[tuple[datetime, datetime]]:
    """The parts of ``[start, end)`` outside every gap (each ``[from, to)``)."""
    spans = []
    cursor = start
    for gap in sorted(gaps, key=lambda g: g.start):
        if gap.start >= end:
            break
        if gap.end <= cursor:
            continue
        if gap.start > cursor:
            spans.append((cursor, gap.start))
        cursor = gap.end
    if cursor < end:
        spans.append((cursor, end))
    return spans


def _offset(params: dict[str, Any], error_code: str) -> int:
    """The position a NextToken of ours stands for (0 without one)."""
    token = params.get("NextToken") or "0"
    if not isinstance(token, str) or not token.isdigit():
        raise EmulatorError(error_code, "The NextToken is not valid.")
    return int(token)


def _page(items: list[dict[str, Any]], params: dict[str, Any], key: str, *, default: int, most: int | None) -> dict[str, Any]:
    """One page of ``items`` under ``key``, SageMaker style (MaxResults, NextToken)."""
    limit = int(params.get("MaxResults", default))
    if limit < 1 or (most is not None and limit > most):
        raise EmulatorError("ValidationException", f"MaxResults must be between 1 and {most}")
    offset = _offset(params, "ValidationException")
    response: dict[str, Any] = {key: items[offset : offset + limit]}
    if offset + limit < len(items):
        response["NextToken"] = str(offset + limit)
    return response


def _error_response(code: str, message: str, status: int) -> tuple[AWSResponse, dict[str, Any]]:
    parsed = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "emulated", "MaxAttemptsReached": True},
    }
    return AWSResponse(None, status, {}, None), parsed


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed: datetime = parse_timestamp(value)
    return parsed.astimezone(UTC)
