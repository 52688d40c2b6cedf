"""Usage from CloudWatch: batched GetMetricData, never a call per metric; missing data is zero."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from spendwatch.aws.cloudwatch import MAX_QUERIES_PER_CALL, CloudWatchMetrics, Query
from spendwatch.aws.retry import NO_WAIT_RETRY
from spendwatch.aws.sagemaker import SageMakerInventory
from spendwatch.core.usage import MetricSeries, ResourceKind, UsageKey, usage_series
from tests.conftest import emulated, endpoints_by_name, scan_json
from tests.fleets import component, endpoint, fleet, gpu_endpoint, seg

NOW = datetime(2026, 11, 20, 6, tzinfo=UTC)


def test_more_than_500_series_travel_in_several_calls_not_one_per_metric() -> None:
    # 260 endpoints x (1 variant + 1 component) = 520 series -> 2 GetMetricData calls
    endpoints = [
        gpu_endpoint(
            f"shared-{i:03d}",
            [component(f"ic-{i:03d}", traffic=[seg("2026-11-20T01:00:00Z", "2026-11-20T02:00:00Z")] if i % 2 else None)],
        )
        for i in range(260)
    ]
    with emulated(fleet(*endpoints)) as aws:
        inventory = SageMakerInventory(aws.client("sagemaker"), aws.retry, workers=1).collect(aws.region)
        series = usage_series(inventory)
        assert sum(len(s) for s in series.values()) == 520
        metrics = CloudWatchMetrics(aws.client("cloudwatch"), aws.retry)
        usage = metrics.usage(series, NOW, 24, 48)
        assert aws.emulator.calls["GetMetricData"] == metrics.calls
        # pass 1: ceil(520 / 500) calls; pass 2: nothing was quiet in the window with earlier traffic
        assert metrics.calls == 2
    active = [k for k, u in usage.items() if u.active]
    assert len(active) == 130
    assert all(k.kind is ResourceKind.COMPONENT for k in active)


def test_queries_per_call_never_exceed_the_limit() -> None:
    with emulated(fleet(endpoint("a"))) as aws:
        metrics = CloudWatchMetrics(aws.client("cloudwatch"), aws.retry)
        queries = [Query(MetricSeries("AWS/SageMaker", "Invocations", (("EndpointName", f"e{i}"),)), 3600) for i in range(1001)]
        results = metrics.get_metric_data(queries, NOW - timedelta(hours=2), NOW)
        assert metrics.calls == 3
        assert len(results) == 1001
        assert MAX_QUERIES_PER_CALL == 500


def test_a_resource_that_never_emitted_a_metric_is_seen_with_zero_invocations() -> None:
    report = scan_json(fleet(endpoint("never-invoked", instance_type="ml.g5.2xlarge")))
    found = endpoints_by_name(report)["never-invoked"]
    assert (found["status"], found["invocations"], found["hourly_cost_usd"]) == ("idle", 0, "1.515000")


def test_idle_since_lookups_are_batched_by_hour() -> None:
    # three endpoints whose traffic stopped inside the same hour: one extra call for all three
    endpoints = [
        endpoint(f"e{i}", traffic=[seg("2026-11-18T10:00:00Z", f"2026-11-18T11:{10 * i + 5:02d}:00Z")]) for i in range(3)
    ]
    with emulated(fleet(*endpoints)) as aws:
        inventory = SageMakerInventory(aws.client("sagemaker"), aws.retry, workers=1).collect(aws.region)
        metrics = CloudWatchMetrics(aws.client("cloudwatch"), aws.retry)
        usage = metrics.usage(usage_series(inventory), NOW, 24, 48)
        assert metrics.calls == 2
    ends = sorted(u.last_activity_end for u in usage.values() if u.last_activity_end)
    assert [f"{t:%H:%M}" for t in ends] == ["11:05", "11:15", "11:25"]


def test_adapter_reads_moto_cloudwatch_like_the_emulator() -> None:
    """Cross-check: the same invocations put into moto's own CloudWatch read back the same."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("cloudwatch", region_name="us-east-1")
        start = NOW - timedelta(hours=5)
        client.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {
                    "MetricName": "Invocations",
                    "Dimensions": [{"Name": "EndpointName", "Value": "e"}, {"Name": "VariantName", "Value": "AllTraffic"}],
                    "Timestamp": start + timedelta(minutes=m),
                    "Value": 2.0,
                }
                for m in range(30)
            ],
        )
        key = UsageKey(ResourceKind.VARIANT, "e", "AllTraffic")
        series = {key: (MetricSeries("AWS/SageMaker", "Invocations", (("EndpointName", "e"), ("VariantName", "AllTraffic"))),)}
        moto_usage = CloudWatchMetrics(client, NO_WAIT_RETRY).usage(series, NOW, 24, 48)[key]
    doc = fleet(endpoint("e", traffic=[seg("2026-11-20T01:00:00Z", "2026-11-20T01:30:00Z", 120)]))
    with emulated(doc) as aws:
        emulated_usage = CloudWatchMetrics(aws.client("cloudwatch"), aws.retry).usage(series, NOW, 24, 48)[key]
    assert moto_usage.invocations == emulated_usage.invocations == 60
    assert moto_usage.active
    assert emulated_usage.active


@pytest.mark.parametrize("dimension", ["GpuId", "AcceleratorId"])
def test_gpu_series_are_discovered_under_either_dimension_name(dimension: str) -> None:
    doc = fleet(
        gpu_endpoint(
            "shared",
            [component("ic-chat", accelerators=2), component("ic-sum", accelerators=1)],
            metrics={"enhanced": True, "publish_frequency_s": 10},
        ),
        gpu_dimension=dimension,
    )
    with emulated(doc) as aws:
        found = CloudWatchMetrics(aws.client("cloudwatch"), aws.retry).gpu_series("shared")
    held = Counter(dict(s.dimensions)["InferenceComponentName"] for s in found)
    assert held == {"ic-chat": 2, "ic-sum": 1}
    assert all(dimension in dict(s.dimensions) for s in found)
