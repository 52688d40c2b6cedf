"""The emulated AWS behind ``--fleet``: given a fleet, when real botocore clients call it,
then it answers as the real services would (shapes botocore validates, pagination, limits,
enhanced GPU metrics), and injected faults change nothing a scan reports."""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from spendwatch.aws.cloudwatch import CloudWatchMetrics
from spendwatch.aws.retry import NO_WAIT_RETRY
from spendwatch.aws.sagemaker import SageMakerInventory
from spendwatch.aws.session import AwsContext
from spendwatch.core import metricnames as mn
from spendwatch.core.errors import InputError
from spendwatch.core.usage import Usage, UsageKey, usage_series
from spendwatch.services.scan import ScanSettings, run_scan
from spendwatch_emulator.emulator import EmulatedAws
from spendwatch_emulator.fleet import parse_fleet
from tests.conftest import emulated
from tests.fleets import LONG_AGO, NOW, component, endpoint, fleet, gpu_endpoint, seg

ENHANCED_10S = {"enhanced": True, "publish_frequency_s": 10}
HOUR_START = datetime(2026, 11, 19, 12, tzinfo=UTC)  # an hour well inside every fleet's history


def _gpu_series(aws: AwsContext, **dimension_filter: str | None) -> list[dict[str, Any]]:
    filters = [{"Name": k} | ({"Value": v} if v is not None else {}) for k, v in dimension_filter.items()]
    page = aws.client("cloudwatch").list_metrics(
        Namespace=mn.ENHANCED_COMPONENTS_NAMESPACE, MetricName=mn.GPU_UTILIZATION, Dimensions=filters
    )
    assert "NextToken" not in page
    metrics: list[dict[str, Any]] = page["Metrics"]
    return metrics


def _dims(metric: dict[str, Any]) -> dict[str, str]:
    return {d["Name"]: d["Value"] for d in metric["Dimensions"]}


def _query(query_id: str, metric: dict[str, Any], stat: str, period: int = 3600) -> dict[str, Any]:
    return {"Id": query_id, "MetricStat": {"Metric": metric, "Period": period, "Stat": stat}}


# -- SageMaker -------------------------------------------------------------------------------


def test_every_emulated_operation_answers_a_real_botocore_client_as_the_service_would(tiny_aws: AwsContext) -> None:
    # Each answer below passed botocore's output-shape validation inside the emulator, and
    # botocore's parser on the way out; "emulated" marks answers that moto did not give.
    sagemaker, cloudwatch = tiny_aws.client("sagemaker"), tiny_aws.client("cloudwatch")
    pricing = tiny_aws.client("pricing", "us-east-1")

    config = sagemaker.describe_endpoint_config(EndpointConfigName="genai-shared-config")
    listed = sagemaker.list_inference_components()
    chat = sagemaker.describe_inference_component(InferenceComponentName="ic-chat")
    tags = sagemaker.list_tags(ResourceArn=chat["InferenceComponentArn"])
    metrics = cloudwatch.list_metrics(Namespace=mn.SAGEMAKER_NAMESPACE, MetricName=mn.INVOCATIONS)
    invocations = {
        "Namespace": mn.SAGEMAKER_NAMESPACE,
        "MetricName": mn.INVOCATIONS,
        "Dimensions": [{"Name": mn.DIM_COMPONENT, "Value": "ic-chat"}],
    }
    data = cloudwatch.get_metric_data(
        MetricDataQueries=[_query("chat", invocations, "Sum")], StartTime=HOUR_START, EndTime=HOUR_START + timedelta(hours=1)
    )
    products = pricing.get_products(
        ServiceCode="AmazonSageMaker", Filters=[{"Type": "TERM_MATCH", "Field": "instanceName", "Value": "ml.g6.12xlarge"}]
    )
    with pytest.raises(ClientError) as unknown:
        sagemaker.describe_inference_component(InferenceComponentName="ic-unknown")

    answers = [config, listed, chat, tags, metrics, data, products]
    assert all(a["ResponseMetadata"]["RequestId"] == "emulated" for a in answers)
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.g6.12xlarge"
    assert sorted(c["InferenceComponentName"] for c in listed["InferenceComponents"]) == ["ic-chat", "ic-summarize"]
    assert chat["Specification"]["ComputeResourceRequirements"]["NumberOfAcceleratorDevicesRequired"] == 2
    assert {t["Key"]: t["Value"] for t in tags["Tags"]} == {"team": "search", "cost-center": "cc-100"}
    assert metrics["Metrics"]
    assert data["MetricDataResults"][0]["Values"] == [600.0]
    assert len(products["PriceList"]) == 1
    # An unknown component is the real service's error, not an empty answer.
    assert unknown.value.response["Error"]["Code"] == "ValidationException"
    assert "ic-unknown" in unknown.value.response["Error"]["Message"]


def test_list_inference_components_pages_one_at_a_time_through_every_component() -> None:
    doc = fleet(
        gpu_endpoint("first", [component("ic-a"), component("ic-b")]),
        gpu_endpoint("second", [component("ic-c")]),
    )
    with emulated(doc) as aws:
        sagemaker = aws.client("sagemaker")
        pages: list[list[str]] = []
        token: str | None = None
        while True:
            page = sagemaker.list_inference_components(MaxResults=1, **({"NextToken": token} if token else {}))
            pages.append([c["InferenceComponentName"] for c in page["InferenceComponents"]])
            token = page.get("NextToken")
            if not token:
                break
        on_second = sagemaker.list_inference_components(EndpointNameEquals="second")

    assert [len(p) for p in pages] == [1, 1, 1]
    assert sorted(name for p in pages for name in p) == ["ic-a", "ic-b", "ic-c"]
    assert [c["InferenceComponentName"] for c in on_second["InferenceComponents"]] == ["ic-c"]


def test_describe_endpoint_reports_the_fleets_creation_status_and_current_instances_at_now() -> None:
    doc = fleet(
        endpoint(
            "scaled",
            created_at="2026-10-02T03:04:05Z",
            status="Failed",
            count=[
                {"from": LONG_AGO, "count": 1},
                {"from": "2026-11-19T00:00:00Z", "count": 3},
                {"from": "2026-11-21T00:00:00Z", "count": 5},  # after `now`: not yet
            ],
        ),
        gpu_endpoint("gpu", [component("ic")], metrics=ENHANCED_10S),
    )
    with emulated(doc) as aws:
        sagemaker = aws.client("sagemaker")
        scaled = sagemaker.describe_endpoint(EndpointName="scaled")
        gpu = sagemaker.describe_endpoint(EndpointName="gpu")
        gpu_config = sagemaker.describe_endpoint_config(EndpointConfigName=gpu["EndpointConfigName"])
        scaled_config = sagemaker.describe_endpoint_config(EndpointConfigName=scaled["EndpointConfigName"])

    assert scaled["ResponseMetadata"]["RequestId"] == "emulated"  # moto keeps no history: emulated at the clock
    assert scaled["CreationTime"] == datetime(2026, 10, 2, 3, 4, 5, tzinfo=UTC)
    assert scaled["EndpointStatus"] == "Failed"
    assert scaled["ProductionVariants"][0]["CurrentInstanceCount"] == 3
    assert gpu["EndpointStatus"] == "InService"
    assert gpu["ProductionVariants"][0]["CurrentInstanceCount"] == 1
    # The config as the real service returns it: moto would drop MetricsConfig and refuse ml.g6.12xlarge.
    assert gpu_config["MetricsConfig"] == {"EnableEnhancedMetrics": True, "MetricPublishFrequencyInSeconds": 10}
    assert gpu_config["ProductionVariants"][0]["InstanceType"] == "ml.g6.12xlarge"
    assert scaled_config["MetricsConfig"] == {"EnableEnhancedMetrics": False, "MetricPublishFrequencyInSeconds": 60}
    assert scaled_config["ProductionVariants"][0]["InstanceType"] == "ml.m5.large"


# -- CloudWatch ------------------------------------------------------------------------------


@pytest.mark.parametrize("gpu_dimension", ["GpuId", "AcceleratorId"])
def test_list_metrics_finds_one_gpu_series_per_gpu_held_under_the_fleets_dimension_name(gpu_dimension: str) -> None:
    doc = fleet(
        gpu_endpoint(
            "enhanced",
            [component("two-gpus", accelerators=2), component("one-gpu", accelerators=1)],
            metrics=ENHANCED_10S,
        ),
        gpu_endpoint("basic", [component("unseen", accelerators=2)]),  # no enhanced metrics: no GPU series
        gpu_dimension=gpu_dimension,
    )
    other_dimension = next(d for d in mn.GPU_DIMENSIONS if d != gpu_dimension)
    with emulated(doc) as aws:
        series = _gpu_series(aws, **{gpu_dimension: None})
        under_the_other_name = _gpu_series(aws, **{other_dimension: None})
        all_gpu_series = _gpu_series(aws)

    assert len(series) == 3  # 2 + 1 accelerators held
    assert all_gpu_series == series
    assert under_the_other_name == []
    assert Counter(_dims(m)[mn.DIM_COMPONENT] for m in series) == {"two-gpus": 2, "one-gpu": 1}
    held = {(_dims(m)[mn.DIM_INSTANCE], _dims(m)[gpu_dimension]) for m in series}
    assert len(held) == 3  # no GPU is held twice
    assert {_dims(m)[mn.DIM_ENDPOINT] for m in series} == {"enhanced"}


def test_get_metric_data_counts_one_sample_per_publish_interval() -> None:
    doc = fleet(
        gpu_endpoint("every-10s", [component("fast")], metrics=ENHANCED_10S),
        gpu_endpoint("every-60s", [component("slow")], metrics={"enhanced": True, "publish_frequency_s": 60}),
    )
    with emulated(doc) as aws:
        fast, slow = _gpu_series(aws, **{mn.DIM_COMPONENT: "fast"}), _gpu_series(aws, **{mn.DIM_COMPONENT: "slow"})
        answer = aws.client("cloudwatch").get_metric_data(
            MetricDataQueries=[_query("fast", fast[0], "SampleCount"), _query("slow", slow[0], "SampleCount")],
            StartTime=HOUR_START,
            EndTime=HOUR_START + timedelta(hours=1),
        )

    results = {r["Id"]: r for r in answer["MetricDataResults"]}
    assert results["fast"]["Values"] == [360.0]
    assert results["fast"]["Timestamps"] == [HOUR_START]
    assert results["slow"]["Values"] == [60.0]


def test_get_metric_data_takes_at_most_500_queries_a_call() -> None:
    doc = fleet(endpoint("busy", traffic=[seg("2026-11-19T00:00:00Z", NOW)]))
    metric = {
        "Namespace": mn.SAGEMAKER_NAMESPACE,
        "MetricName": mn.INVOCATIONS,
        "Dimensions": [{"Name": mn.DIM_ENDPOINT, "Value": "busy"}, {"Name": mn.DIM_VARIANT, "Value": "AllTraffic"}],
    }
    window = {"StartTime": HOUR_START, "EndTime": HOUR_START + timedelta(hours=1)}
    with emulated(doc) as aws:
        cloudwatch = aws.client("cloudwatch")
        queries = [_query(f"q{i}", metric, "Sum") for i in range(501)]
        at_the_limit = cloudwatch.get_metric_data(MetricDataQueries=queries[:500], **window)
        with pytest.raises(ClientError) as caught:
            cloudwatch.get_metric_data(MetricDataQueries=queries, **window)

    assert len(at_the_limit["MetricDataResults"]) == 500
    assert all(r["Values"] == [60.0] for r in at_the_limit["MetricDataResults"])
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "500" in caught.value.response["Error"]["Message"]


def _usage_and_calls(doc: dict[str, Any], **emulator_options: Any) -> tuple[dict[UsageKey, Usage], int]:
    """Usage read through the CloudWatch adapter and the number of GetMetricData calls it
    took, from an emulated AWS built with ``emulator_options``."""
    with EmulatedAws(parse_fleet(doc), **emulator_options) as emulator:
        inventory = SageMakerInventory(emulator.client("sagemaker"), NO_WAIT_RETRY, 1).collect(emulator.region)
        metrics = CloudWatchMetrics(emulator.client("cloudwatch"), NO_WAIT_RETRY)
        usage = metrics.usage(usage_series(inventory), emulator.now, lookback_hours=24, history_hours=48)
        return usage, emulator.calls["GetMetricData"]


def test_small_get_metric_data_pages_give_the_same_usage_in_more_calls() -> None:
    doc = fleet(
        endpoint("busy", traffic=[seg("2026-11-18T07:00:00Z", NOW, per_hour=30)]),
        endpoint("quiet", traffic=[seg("2026-11-18T10:00:00Z", "2026-11-18T10:42:00Z")]),
        endpoint("never"),
        gpu_endpoint(
            "gpu",
            [
                component("ic-recent", traffic=[seg("2026-11-19T00:00:00Z", "2026-11-19T03:00:00Z", per_hour=120)]),
                component("ic-old", traffic=[seg("2026-11-18T08:00:00Z", "2026-11-18T09:17:00Z", per_hour=120)]),
            ],
        ),
    )

    usage, calls = _usage_and_calls(doc)
    paged_usage, paged_calls = _usage_and_calls(doc, page_datapoints=7)

    assert paged_usage == usage
    assert paged_calls > calls
    # The pages really cut through the data: minute-exact idle_since survives them.
    assert {u.last_activity_end for u in usage.values()} >= {
        datetime(2026, 11, 18, 10, 42, tzinfo=UTC),
        datetime(2026, 11, 18, 9, 17, tzinfo=UTC),
        datetime(2026, 11, 19, 3, 0, tzinfo=UTC),
    }


# -- injected faults -------------------------------------------------------------------------

FAULTS = {"throttle_rate": 0.3, "error_rate": 0.1, "seed": 7}


def _scan_then_call_directly(doc: dict[str, Any], direct_calls: int = 30) -> tuple[dict[str, Any], Counter[str], list[str]]:
    """A scan's report and the emulator's call counts, then the outcomes of raw client calls."""
    with emulated(doc) as aws:
        assert aws.emulator is not None
        report = run_scan(aws, ScanSettings()).to_json()
        calls = Counter(aws.emulator.calls)
        cloudwatch = aws.client("cloudwatch")
        outcomes = []
        for _ in range(direct_calls):
            try:
                cloudwatch.list_metrics()
                outcomes.append("ok")
            except ClientError as exc:
                outcomes.append(exc.response["Error"]["Code"])
    return report, calls, outcomes


def test_injected_faults_change_nothing_a_scan_reports_and_replay_identically_for_a_seed(
    tiny_fleet: dict[str, Any],
) -> None:
    clean_report, clean_calls, clean_outcomes = _scan_then_call_directly(tiny_fleet)
    report, calls, outcomes = _scan_then_call_directly(tiny_fleet | {"faults": FAULTS})
    replay = _scan_then_call_directly(tiny_fleet | {"faults": FAULTS})

    # The scan retried through the faults and reports exactly what a clean scan reports.
    assert report == clean_report
    assert calls.total() > clean_calls.total()
    # The faults were real: a raw client (no retry layer) sees throttles and server errors.
    assert set(clean_outcomes) == {"ok"}
    assert set(outcomes) == {"ok", "ThrottlingException", "InternalFailure"}
    # The same seed replays the same faults, call for call.
    assert replay == (report, calls, outcomes)


# -- a fleet that cannot be seeded -------------------------------------------------------------


def test_a_fleet_that_cannot_be_seeded_leaves_no_emulated_aws_behind() -> None:
    unseedable = fleet(gpu_endpoint("crowded", [component("big", accelerators=2, copies=3)]))
    environment = dict(os.environ)
    emulator = EmulatedAws(parse_fleet(unseedable))
    try:
        with pytest.raises(InputError), emulator:
            pass
        changed = {k for k in set(environment) | set(os.environ) if environment.get(k) != os.environ.get(k)}
        with emulated(fleet(endpoint("fresh"))) as aws:
            seen = [e["EndpointName"] for e in aws.client("sagemaker").list_endpoints()["Endpoints"]]
    finally:
        emulator.__exit__(None, None, None)  # clean up for the tests that follow

    assert changed == set()
    assert seen == ["fresh"]
