"""CloudWatch adapter: batched GetMetricData (up to 500 queries a call, NextToken paging,
results merged by Id) and ListMetrics paging.

Usage is read in two batched passes over the resources of the inventory:

1. every resource's traffic series, hourly, over the available history: window totals and
   the hour of the last traffic, in ceil(series / 500) calls (plus NextToken pages);
2. for resources without traffic in the window but with some before it, that last hour at
   minute resolution, grouped by hour, so ``idle_since`` is exact to the minute.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from spendwatch.aws.retry import DEFAULT_RETRY, RetryPolicy
from spendwatch.core import metricnames as mn
from spendwatch.core.inventory import Inventory
from spendwatch.core.metering import Interval, VariantSamples, metrics_retention
from spendwatch.core.timestamps import MINUTE, ensure_utc, floor_minute
from spendwatch.core.usage import MetricSeries, Usage, UsageKey

MAX_QUERIES_PER_CALL = 500
IAM_ACTIONS = ("cloudwatch:GetMetricData", "cloudwatch:ListMetrics")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Query:
    series: MetricSeries
    period_s: int
    stat: str | None = None

    def to_api(self, query_id: str) -> dict[str, Any]:
        return {
            "Id": query_id,
            "MetricStat": {
                "Metric": {
                    "Namespace": self.series.namespace,
                    "MetricName": self.series.metric_name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in self.series.dimensions],
                },
                "Period": self.period_s,
                "Stat": self.stat or self.series.stat,
            },
            "ReturnData": True,
        }


Points = list[tuple[datetime, float]]


class CloudWatchMetrics:
    def __init__(self, client: Any, retry: RetryPolicy = DEFAULT_RETRY) -> None:
        self._client = client
        self._retry = retry
        self.calls = 0

    def get_metric_data(
        self,
        queries: Sequence[Query],
        start: datetime,
        end: datetime,
        progress: Progress | None = None,
    ) -> list[Points]:
        """Datapoints of each query, in query order, oldest first. Queries travel 500 a call;
        each call is paged with NextToken and its results merged by Id."""
        results: list[Points] = [[] for _ in queries]
        chunks = [range(i, min(i + MAX_QUERIES_PER_CALL, len(queries))) for i in range(0, len(queries), MAX_QUERIES_PER_CALL)]
        for done, chunk in enumerate(chunks, start=1):
            api_queries = [queries[i].to_api(f"q{i}") for i in chunk]
            token: str | None = None
            while True:
                kwargs: dict[str, Any] = {
                    "MetricDataQueries": api_queries,
                    "StartTime": start,
                    "EndTime": end,
                    "ScanBy": "TimestampAscending",
                }
                if token:
                    kwargs["NextToken"] = token
                self.calls += 1
                page = self._retry.call("GetMetricData", self._client.get_metric_data, **kwargs)
                for result in page.get("MetricDataResults", []):
                    index = int(result["Id"][1:])
                    results[index].extend(
                        (ensure_utc(ts), float(v))
                        for ts, v in zip(result.get("Timestamps", []), result.get("Values", []), strict=False)
                    )
                token = page.get("NextToken")
                if not token:
                    break
            if progress:
                progress(done, len(chunks))
        for points in results:
            points.sort(key=lambda p: p[0])
        return results

    def list_metrics(self, namespace: str, metric_name: str, dimensions: Mapping[str, str | None]) -> Iterator[dict[str, Any]]:
        """Every metric matching the filter (a None value matches any value of that dimension)."""
        filters = [{"Name": k} | ({"Value": v} if v is not None else {}) for k, v in dimensions.items()]
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Namespace": namespace, "MetricName": metric_name, "Dimensions": filters}
            if token:
                kwargs["NextToken"] = token
            page = self._retry.call("ListMetrics", self._client.list_metrics, **kwargs)
            yield from page.get("Metrics", [])
            token = page.get("NextToken")
            if not token:
                return

    def gpu_series(self, endpoint_name: str) -> list[MetricSeries]:
        """The per-GPU enhanced-metric series of an endpoint's components, discovered with
        ListMetrics whatever the GPU dimension is called (``GpuId`` in AWS sample code,
        ``AcceleratorId`` in AWS docs): never hard-coded."""
        found = []
        for metric in self.list_metrics(mn.ENHANCED_COMPONENTS_NAMESPACE, mn.GPU_UTILIZATION, {mn.DIM_ENDPOINT: endpoint_name}):
            dims = tuple((d["Name"], d["Value"]) for d in metric.get("Dimensions", []))
            if any(name in mn.GPU_DIMENSIONS for name, _ in dims):
                found.append(MetricSeries(metric["Namespace"], metric["MetricName"], dims))
        return sorted(found, key=lambda s: s.dimensions)

    def component_gpu_series(self, components: set[str]) -> dict[str, list[MetricSeries]]:
        """The per-GPU ``GPUUtilizationNormalized`` series of each of ``components`` (right-sizing
        advice), from one region-wide ListMetrics listing (paged), whatever the GPU dimension is
        called; a component without enhanced metrics has none."""
        found: dict[str, list[MetricSeries]] = {}
        if not components:
            return found
        for metric in self.list_metrics(mn.ENHANCED_COMPONENTS_NAMESPACE, mn.GPU_UTILIZATION, {}):
            dims = tuple((d["Name"], d["Value"]) for d in metric.get("Dimensions", []))
            names = dict(dims)
            if names.get(mn.DIM_COMPONENT) in components and any(n in names for n in mn.GPU_DIMENSIONS):
                series = MetricSeries(metric["Namespace"], metric["MetricName"], dims, counts=False)
                found.setdefault(names[mn.DIM_COMPONENT], []).append(series)
        return {name: sorted(group, key=lambda s: s.dimensions) for name, group in found.items()}

    def enhanced_samples(
        self, inventory: Inventory, periods: Sequence[Interval], progress: Progress | None = None, now: datetime | None = None
    ) -> dict[tuple[str, str, datetime], VariantSamples]:
        """Sample counts of every enhanced-metrics series (per GPU held, per instance) of the
        inventory's endpoints, per interval, keyed by (endpoint, variant, interval start).

        Series are discovered with ListMetrics once per metric for the whole region (the GPU
        dimension's name is whatever the account uses), then read as SampleCount with the
        interval as period, 500 series a call. A variant with no series gets no entry, and is
        then metered by allocation.
        """
        if not periods:
            return {}
        enhanced = {e.name for e in inventory.endpoints if e.metrics.enhanced}
        if not enhanced:
            return {}
        gpu: list[MetricSeries] = []
        instance: list[MetricSeries] = []
        for metric_name, bucket in (
            (mn.GPU_UTILIZATION, gpu),
            (mn.CPU_UTILIZATION_NORMALIZED, instance),
            (mn.CPU_UTILIZATION, instance),
        ):
            namespace = mn.ENHANCED_COMPONENTS_NAMESPACE if bucket is gpu else mn.ENHANCED_ENDPOINTS_NAMESPACE
            for metric in self.list_metrics(namespace, metric_name, {}):
                dims = tuple((d["Name"], d["Value"]) for d in metric.get("Dimensions", []))
                names = dict(dims)
                if names.get(mn.DIM_ENDPOINT) not in enhanced or mn.DIM_VARIANT not in names:
                    continue
                if bucket is gpu and not (mn.DIM_COMPONENT in names and any(n in names for n in mn.GPU_DIMENSIONS)):
                    continue
                if bucket is instance and set(names) != {mn.DIM_ENDPOINT, mn.DIM_VARIANT, mn.DIM_INSTANCE}:
                    continue
                bucket.append(MetricSeries(namespace, metric_name, dims))
        period_s = periods[0].seconds
        frequency = {e.name: e.metrics.publish_frequency_s for e in inventory.endpoints}
        # GPU series: one SampleCount per interval. Instance series: one per publish bucket
        # (at least a minute), so a bucket nobody published in (late or lost data) shows.
        finest = metrics_retention((now or periods[-1].end) - periods[0].start)

        def bucket_s(series: MetricSeries) -> int:
            wanted = max(finest, frequency[dict(series.dimensions)[mn.DIM_ENDPOINT]])
            wanted = -(-wanted // 60) * 60  # periods are whole minutes
            return period_s if period_s % wanted else wanted

        queries = [Query(s, period_s, "SampleCount") for s in gpu] + [Query(s, bucket_s(s), "SampleCount") for s in instance]
        buckets = {s: bucket_s(s) for s in instance}
        counts = self.get_metric_data(queries, periods[0].start, periods[-1].end, progress)
        starts = [p.start for p in periods]
        step = timedelta(seconds=period_s)
        instances: dict[tuple[str, str, datetime], int] = {}
        sampled: dict[tuple[str, str, datetime], set[datetime]] = {}
        bucket_of: dict[tuple[str, str, datetime], int] = {}
        gpus: dict[tuple[str, str, datetime], dict[str, int]] = {}
        for s, points in zip(gpu + instance, counts, strict=True):
            names = dict(s.dimensions)
            for start in starts:
                key = (names[mn.DIM_ENDPOINT], names[mn.DIM_VARIANT], start)
                instances.setdefault(key, 0)
                sampled.setdefault(key, set())
                gpus.setdefault(key, {})
            for ts, value in points:
                n = round(value)
                if n <= 0:
                    continue
                start = periods[0].start + (ts - periods[0].start) // step * step
                key = (names[mn.DIM_ENDPOINT], names[mn.DIM_VARIANT], start)
                if key not in instances:
                    continue
                if s.namespace == mn.ENHANCED_ENDPOINTS_NAMESPACE:
                    instances[key] += n
                    sampled[key].add(ts)
                    bucket_of[key] = max(bucket_of.get(key, 0), buckets[s])
                else:
                    held = gpus[key]
                    held[names[mn.DIM_COMPONENT]] = held.get(names[mn.DIM_COMPONENT], 0) + n
        return {
            key: VariantSamples(
                instance_samples=instances[key],
                gpu_samples=gpus[key],
                sampled=frozenset(sampled[key]),
                bucket_s=bucket_of.get(key, 60),
            )
            for key in instances
        }

    def usage(
        self,
        series: Mapping[UsageKey, tuple[MetricSeries, ...]],
        now: datetime,
        lookback_hours: int,
        history_hours: int,
        progress: Progress | None = None,
    ) -> dict[UsageKey, Usage]:
        """Usage of every resource; a series CloudWatch does not have counts as zero."""
        now = floor_minute(now)
        history_hours = max(history_hours, lookback_hours)
        window_start = now - timedelta(hours=lookback_hours)
        flat = [(key, s) for key, group in series.items() for s in group]

        # Pass 1: hourly buckets aligned on `now`, so the window is the last buckets exactly.
        hourly = self.get_metric_data([Query(s, 3600) for _, s in flat], now - timedelta(hours=history_hours), now, progress)
        invocations: dict[UsageKey, float] = defaultdict(float)
        active: set[UsageKey] = set()
        last_hour: dict[UsageKey, datetime] = {}
        for (key, s), points in zip(flat, hourly, strict=True):
            for ts, value in points:
                if value <= 0:
                    continue
                if ts >= window_start:
                    active.add(key)
                    if s.counts:
                        invocations[key] += value
                if key not in last_hour or ts > last_hour[key]:
                    last_hour[key] = ts

        # Pass 2: the minute of the last traffic, for what was quiet during the window.
        last_minute_end: dict[UsageKey, datetime] = {}
        by_hour: dict[datetime, list[tuple[UsageKey, MetricSeries]]] = defaultdict(list)
        for key, s in flat:
            if key not in active and key in last_hour:
                by_hour[last_hour[key]].append((key, s))
        for hour, members in sorted(by_hour.items()):
            minutes = self.get_metric_data([Query(s, 60) for _, s in members], hour, hour + timedelta(hours=1))
            for (key, _), points in zip(members, minutes, strict=True):
                busy = [ts for ts, value in points if value > 0]
                if busy:
                    candidate = max(busy) + MINUTE
                    if key not in last_minute_end or candidate > last_minute_end[key]:
                        last_minute_end[key] = candidate
        result: dict[UsageKey, Usage] = {}
        for key in series:
            # Minute data expires after 15 days: then the end of the last hour is the best known.
            last = last_minute_end.get(key)
            if last is None and key in last_hour and key not in active:
                last = last_hour[key] + timedelta(hours=1)
            result[key] = Usage(
                invocations=round(invocations.get(key, 0.0)),
                active=key in active,
                last_activity_end=last,
            )
        return result
