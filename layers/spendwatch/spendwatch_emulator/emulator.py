"""The emulated AWS behind ``--fleet``: moto, seeded from a fleet spec, plus what moto lacks.

This one module is used by the CLI, the demo, the tests and the benchmarks alike.

* moto serves SageMaker endpoints, endpoint configs (for ListEndpoints, DescribeEndpoint,
  ListTags), DynamoDB, SNS, SQS and SSM. Fleet values moto cannot take through its API
  (creation times, statuses, current instance counts) are set on moto's own records.
* Emulated here, answering at botocore's ``before-call`` event exactly where the real
  service would answer: DescribeEndpointConfig (moto drops ``MetricsConfig`` and refuses
  current GPU instance types), ListInferenceComponents, DescribeInferenceComponent and
  ListTags of components (moto has no inference components), CloudWatch GetMetricData and
  ListMetrics (from an index computed from the fleet's traffic segments: moto scans every
  stored datapoint per query, has no NextToken paging and no metric math) and Pricing
  GetProducts (moto has no Pricing API).
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
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
    FleetVariant,
    Segment,
    copies_timeline,
    instance_timeline,
)

LEDGER_TABLE = "spendwatch-emulated"  # the ledger table --fleet commands use
DEFAULT_PAGE_DATAPOINTS = 100_800  # GetMetricData's real limit per call
LIST_METRICS_PAGE = 500
LIST_METRICS_RECENT = timedelta(days=14)  # ListMetrics forgets metrics quiet for two weeks
_PARAMS = "spendwatch_emulator_params"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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

    def all(self) -> Iterator[Series]:
        return iter(self._series.values())

    def datapoints(self, series: Series, start: datetime, end: datetime, period_s: int, stat: str) -> list[tuple[int, float]]:
        """(bucket start second, value) for every bucket with data; buckets align on the
        start time rounded down to the minute, as CloudWatch does."""
        first = _second(start.replace(second=0, microsecond=0))
        last = _second(end)
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
                n = piece.samples(bucket, bucket + period_s)
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
# The emulated AWS.


class EmulatedAws:
    """Use as a context manager::

    with EmulatedAws(fleet) as aws:
        sagemaker = aws.client("sagemaker")
    """

    def __init__(self, fleet: Fleet, page_datapoints: int = DEFAULT_PAGE_DATAPOINTS) -> None:
        self.fleet = fleet
        self.region = fleet.region
        self.now = fleet.now
        self.page_datapoints = page_datapoints
        self.calls: Counter[str] = Counter()
        self._faults_on = False
        self._rng = random.Random(fleet.faults.seed if fleet.faults else 0)  # noqa: S311 - reproducible faults
        self._lock = threading.Lock()
        self._mock: Any = None
        self._saved_env: dict[str, str | None] = {}
        self.metrics = MetricIndex(fleet.history_start, fleet.now)
        self._configs: dict[str, dict[str, Any]] = {}
        self._components: dict[str, dict[str, Any]] = {}
        self._component_tags: dict[str, dict[str, str]] = {}
        self._prices = {t: str(p) for t, (p, _) in BUILTIN_PRICES.get(fleet.region, {}).items()}
        self._prices.update({t: str(p) for t, p in fleet.prices_usd_per_hour.items()})
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
        self.session = boto3.Session(region_name=self.region)
        self.attach(self.session)
        self._install_item_level_transactions()
        try:
            self._seed()
        except BaseException:
            self.__exit__()  # a fleet that cannot be seeded leaves no emulated AWS behind
            raise
        self.calls.clear()
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

    def attach(self, session: boto3.Session) -> None:
        """Route ``session``'s clients through the emulator (e.g. ``boto3.DEFAULT_SESSION``
        for a Lambda handler under test). Clients made before this call are not affected."""
        events = session._session.get_component("event_emitter")
        events.register("before-parameter-build", self._remember_params)
        events.register_first("before-call", self._before_call)

    # -- botocore hooks -------------------------------------------------------------------

    def _remember_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[_PARAMS] = dict(params)

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        operation = model.name
        service = model.service_model.service_name
        with self._lock:
            self.calls[operation] += 1
            fault = self._draw_fault()
        if fault is not None:
            return _error_response(*fault)
        handler: Callable[[dict[str, Any]], dict[str, Any] | None] | None = getattr(
            self, f"_{service.replace('-', '_')}_{operation}", None
        )
        if handler is None:
            return None  # moto answers
        try:
            response = handler(context.get(_PARAMS, {}))
        except EmulatorError as exc:
            return _error_response(exc.code, exc.message, exc.status)
        if response is None:
            return None
        validate_parameters(response, model.output_shape)
        # A copy: callers (botocore's parsers, user code) must never alter the emulated state.
        response = {**copy.deepcopy(response), "ResponseMetadata": {"HTTPStatusCode": 200, "RequestId": "emulated"}}
        return AWSResponse(None, 200, {}, None), response

    def _draw_fault(self) -> tuple[str, str, int] | None:
        if not self._faults_on or self.fleet.faults is None:
            return None
        draw = self._rng.random()
        if draw < self.fleet.faults.throttle_rate:
            return ("ThrottlingException", "Rate exceeded (injected fault)", 400)
        if draw < self.fleet.faults.throttle_rate + self.fleet.faults.error_rate:
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
                if condition and not get_filter_expression(
                    condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                ).expr(current):
                    errors.append(("ConditionalCheckFailed", "The conditional request failed", None))
                else:
                    errors.append((None, None, None))
                plan.append((op_type, op, key, copy.deepcopy(current)))
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
                        backend.put_item(table_name, before.to_json()["Attributes"])
                raise

        backend.transact_write_items = transact_write_items  # type: ignore[method-assign]

    # -- seeding --------------------------------------------------------------------------

    def _arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.fleet.account_id}:{kind}/{name.lower()}"

    def _seed(self) -> None:
        from moto.sagemaker.models import sagemaker_backends

        from spendwatch.core.ledger import TABLE_DEFINITION

        self.client("dynamodb").create_table(TableName=LEDGER_TABLE, **TABLE_DEFINITION)
        sagemaker = self.client("sagemaker")
        backend = sagemaker_backends[self.fleet.account_id][self.region]
        role = f"arn:aws:iam::{self.fleet.account_id}:role/SageMakerExecutionRole"
        for index, endpoint in enumerate(self.fleet.endpoints):
            where = f"endpoints[{index}] ({endpoint.name})"
            config_name = f"{endpoint.name}-config"
            moto_variants = []
            for variant in endpoint.variants:
                model_name = f"{endpoint.name}-{variant.name}"[:63]
                sagemaker.create_model(
                    ModelName=model_name,
                    PrimaryContainer={"Image": f"{self.fleet.account_id}.dkr.ecr.{self.region}.amazonaws.com/model:latest"},
                    ExecutionRoleArn=role,
                )
                entry: dict[str, Any] = {"VariantName": variant.name, "ModelName": model_name}
                if variant.serverless is not None:
                    entry["ServerlessConfig"] = {
                        "MemorySizeInMB": variant.serverless.memory_mb,
                        "MaxConcurrency": variant.serverless.max_concurrency,
                    }
                else:  # moto knows only older instance types; the real type is emulated below
                    entry |= {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
                moto_variants.append(entry)
            sagemaker.create_endpoint_config(EndpointConfigName=config_name, ProductionVariants=moto_variants)
            sagemaker.create_endpoint(
                EndpointName=endpoint.name,
                EndpointConfigName=config_name,
                Tags=[{"Key": k, "Value": v} for k, v in endpoint.tags.items()],
            )
            record = backend.endpoints[endpoint.name]
            created = endpoint.created_at.astimezone(UTC).replace(tzinfo=None)
            record.creation_time = record.last_modified_time = created
            record.endpoint_status = endpoint.status
            for moto_variant, variant in zip(record.production_variants, endpoint.variants, strict=True):
                if variant.serverless is None:
                    count = instance_timeline(endpoint, variant).at(self.now)
                    moto_variant["CurrentInstanceCount"] = moto_variant["DesiredInstanceCount"] = count
            self._configs[config_name] = self._config_response(endpoint, config_name, role)
            self._seed_components(endpoint)
            self._seed_metrics(endpoint, where)

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
            "EndpointConfigArn": self._arn("endpoint-config", config_name),
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
                "OutputConfig": {"S3OutputPath": f"s3://sagemaker-{self.region}-{self.fleet.account_id}/async/{endpoint.name}/"}
            }
        return response

    def _seed_components(self, endpoint: FleetEndpoint) -> None:
        for variant in endpoint.variants:
            for component in variant.inference_components or []:
                created = component.created_at or endpoint.created_at
                copies = copies_timeline(endpoint, component).at(self.now)
                self._components[component.name] = {
                    "InferenceComponentName": component.name,
                    "InferenceComponentArn": self._arn("inference-component", component.name),
                    "EndpointName": endpoint.name,
                    "EndpointArn": self._arn("endpoint", endpoint.name),
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
                    "RuntimeConfig": {"DesiredCopyCount": copies, "CurrentCopyCount": copies},
                    "CreationTime": created,
                    "LastModifiedTime": created,
                    "InferenceComponentStatus": "InService",
                }
                self._component_tags[self._arn("inference-component", component.name)] = dict(component.tags)

    # -- metrics ------------------------------------------------------------------------

    def _traffic(self, segments: list[Segment], floor: datetime, metric: str, dims: dict[str, str]) -> None:
        for segment in segments:
            start = max(segment.start, floor)
            self.metrics.add(mn.SAGEMAKER_NAMESPACE, metric, dims, start, segment.end, segment.per_hour / 60, 60)

    def _seed_metrics(self, endpoint: FleetEndpoint, where: str) -> None:
        frequency = endpoint.metrics.publish_frequency_s
        for variant in endpoint.variants:
            vdims = {mn.DIM_ENDPOINT: endpoint.name, mn.DIM_VARIANT: variant.name}
            if endpoint.kind == "async":
                self._traffic(
                    variant.traffic, endpoint.created_at, mn.ASYNC_PROCESSED_METRICS[0], {mn.DIM_ENDPOINT: endpoint.name}
                )
            else:
                self._traffic(variant.traffic, endpoint.created_at, mn.INVOCATIONS, vdims)
            for component in variant.inference_components or []:
                floor = component.created_at or endpoint.created_at
                self._traffic(component.traffic, floor, mn.INVOCATIONS, {mn.DIM_COMPONENT: component.name})
            if variant.serverless is not None:
                continue
            for start, end, placements, instances in self._placements(endpoint, variant, where):
                if not endpoint.metrics.enhanced:
                    continue
                cpu_metric = mn.CPU_UTILIZATION if variant.inference_components is None else mn.CPU_UTILIZATION_NORMALIZED
                for instance in instances:
                    self.metrics.add(
                        mn.ENHANCED_ENDPOINTS_NAMESPACE,
                        cpu_metric,
                        vdims | {mn.DIM_INSTANCE: instance},
                        start,
                        end,
                        25.0,
                        frequency,
                    )
                for component, copy_index, instance, gpus in placements:
                    for gpu in gpus:
                        dims = vdims | {
                            mn.DIM_INSTANCE: instance,
                            mn.DIM_CONTAINER: f"{component.name}-{copy_index}",
                            mn.DIM_COMPONENT: component.name,
                            self.fleet.gpu_dimension: str(gpu),
                        }
                        self.metrics.add(
                            mn.ENHANCED_COMPONENTS_NAMESPACE,
                            mn.GPU_UTILIZATION,
                            dims,
                            start,
                            end,
                            component.gpu_utilization_pct,
                            frequency,
                        )

    def _placements(
        self, endpoint: FleetEndpoint, variant: FleetVariant, where: str
    ) -> Iterator[tuple[datetime, datetime, list[tuple[FleetComponent, int, str, list[int]]], list[str]]]:
        """Copies packed first-fit onto instances, for each stretch where counts hold."""
        instances_tl = instance_timeline(endpoint, variant)
        components = variant.inference_components or []
        copies_tls = [copies_timeline(endpoint, c) for c in components]
        points = {endpoint.created_at, self.fleet.history_start, self.now}
        points.update(instances_tl.breakpoints())
        for tl in copies_tls:
            points.update(tl.breakpoints())
        for c in components:
            points.add(c.created_at or endpoint.created_at)
        edges = sorted(p for p in points if self.fleet.history_start <= p <= self.now and p >= endpoint.created_at)
        spec = INSTANCE_SPECS.get(variant.instance_type or "")
        prefix = hashlib.sha1(f"{endpoint.name}/{variant.name}".encode(), usedforsecurity=False).hexdigest()[:10]
        for start, end in pairwise(edges):
            count = instances_tl.at(start)
            instances = [f"i-{prefix}{n:06x}" for n in range(count)]
            free_gpus = [list(range(spec.gpus if spec else 0)) for _ in instances]
            free_cores = [float(spec.vcpus if spec else 0) for _ in instances]
            placements = []
            for component, tl in zip(components, copies_tls, strict=True):
                if start < (component.created_at or endpoint.created_at):
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

    # -- emulated SageMaker -------------------------------------------------------------

    def _sagemaker_DescribeEndpointConfig(self, params: dict[str, Any]) -> dict[str, Any] | None:
        return self._configs.get(params.get("EndpointConfigName", "")) or None

    def _sagemaker_ListInferenceComponents(self, params: dict[str, Any]) -> dict[str, Any]:
        items = list(self._components.values())
        if params.get("EndpointNameEquals"):
            items = [c for c in items if c["EndpointName"] == params["EndpointNameEquals"]]
        if params.get("VariantNameEquals"):
            items = [c for c in items if c["VariantName"] == params["VariantNameEquals"]]
        if params.get("StatusEquals"):
            items = [c for c in items if c["InferenceComponentStatus"] == params["StatusEquals"]]
        if params.get("NameContains"):
            items = [c for c in items if params["NameContains"] in c["InferenceComponentName"]]
        sort_by = params.get("SortBy", "CreationTime")
        sort_key = {"Name": "InferenceComponentName", "Status": "InferenceComponentStatus"}.get(sort_by, "CreationTime")
        items.sort(
            key=lambda c: (c[sort_key], c["InferenceComponentName"]),
            reverse=params.get("SortOrder", "Descending") == "Descending",
        )
        limit = int(params.get("MaxResults", 10))
        if not 1 <= limit <= 100:
            raise EmulatorError("ValidationException", "MaxResults must be between 1 and 100")
        offset = int(params.get("NextToken", "0") or 0)
        page = items[offset : offset + limit]
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
            for c in page
        ]
        response: dict[str, Any] = {"InferenceComponents": summaries}
        if offset + limit < len(items):
            response["NextToken"] = str(offset + limit)
        return response

    def _sagemaker_DescribeInferenceComponent(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("InferenceComponentName", "")
        if name not in self._components:
            raise EmulatorError("ValidationException", f'Could not find inference component "{name}".')
        return self._components[name]

    def _sagemaker_ListTags(self, params: dict[str, Any]) -> dict[str, Any] | None:
        arn = params.get("ResourceArn", "")
        if ":inference-component/" not in arn:
            return None  # moto holds endpoint tags
        if arn not in self._component_tags:
            raise EmulatorError("ValidationException", f"Resource {arn} does not exist.")
        tags = [{"Key": k, "Value": v} for k, v in sorted(self._component_tags[arn].items())]
        limit = int(params.get("MaxResults", 50))
        offset = int(params.get("NextToken", "0") or 0)
        response: dict[str, Any] = {"Tags": tags[offset : offset + limit]}
        if offset + limit < len(tags):
            response["NextToken"] = str(offset + limit)
        return response

    # -- emulated CloudWatch ------------------------------------------------------------

    def _cloudwatch_GetMetricData(self, params: dict[str, Any]) -> dict[str, Any]:
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
            series = self.metrics.find(metric["Namespace"], metric["MetricName"], dims)
            points = self.metrics.datapoints(series, start, end, period, stat["Stat"]) if series else []
            if params.get("ScanBy", "TimestampDescending") == "TimestampDescending":
                points.reverse()
            ids.append(query["Id"])
            flat.extend((query["Id"], second, value) for second, value in points)
        offset = int(params.get("NextToken", "0") or 0)
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

    def _cloudwatch_ListMetrics(self, params: dict[str, Any]) -> dict[str, Any]:
        recent = _second(self.now - LIST_METRICS_RECENT)
        wanted = params.get("Dimensions", [])
        found = []
        for series in self.metrics.all():
            if params.get("Namespace") and series.namespace != params["Namespace"]:
                continue
            if params.get("MetricName") and series.metric_name != params["MetricName"]:
                continue
            dims = dict(series.dimensions)
            if not all(f["Name"] in dims and ("Value" not in f or dims[f["Name"]] == f["Value"]) for f in wanted):
                continue
            if max(p.end_s for p in series.pieces) <= recent:
                continue
            found.append(
                {
                    "Namespace": series.namespace,
                    "MetricName": series.metric_name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in series.dimensions],
                }
            )
        offset = int(params.get("NextToken", "0") or 0)
        response: dict[str, Any] = {"Metrics": found[offset : offset + LIST_METRICS_PAGE]}
        if offset + LIST_METRICS_PAGE < len(found):
            response["NextToken"] = str(offset + LIST_METRICS_PAGE)
        return response

    # -- emulated Pricing ---------------------------------------------------------------

    def _pricing_GetProducts(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("ServiceCode") != "AmazonSageMaker":
            return {"PriceList": [], "FormatVersion": "aws_v1"}
        filters = {f["Field"]: f["Value"] for f in params.get("Filters", [])}
        if filters.get("regionCode", self.region) != self.region:
            return {"PriceList": [], "FormatVersion": "aws_v1"}
        items = []
        for instance_type, usd in sorted(self._prices.items()):
            if filters.get("instanceName", instance_type) != instance_type:
                continue
            sku = hashlib.sha1(instance_type.encode(), usedforsecurity=False).hexdigest()[:16].upper()
            items.append(
                json.dumps(
                    {
                        "product": {
                            "sku": sku,
                            "attributes": {
                                "instanceName": instance_type,
                                "regionCode": self.region,
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
        offset = int(params.get("NextToken", "0") or 0)
        response: dict[str, Any] = {"PriceList": items[offset : offset + limit], "FormatVersion": "aws_v1"}
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
