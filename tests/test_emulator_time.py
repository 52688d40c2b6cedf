"""The emulated AWS over time: given a fleet whose endpoints and components are deleted, whose
enhanced metrics have gaps, and whose clock is moved, when real botocore clients call it, then
SageMaker, CloudWatch and CloudTrail answer as of the clock, in the real services' shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

from spendwatch.aws.sagemaker import SageMakerInventory
from spendwatch.aws.session import AwsContext
from spendwatch.core import metricnames as mn
from spendwatch_emulator.emulator import EmulatedAws
from spendwatch_emulator.fleet import parse_fleet
from tests.conftest import emulated
from tests.fleets import LONG_AGO, NOW, component, endpoint, fleet, gpu_endpoint, seg

ENHANCED_60S = {"enhanced": True, "publish_frequency_s": 60}
HISTORY_START = datetime(2026, 11, 18, 6, tzinfo=UTC)  # NOW - 48 hours
FLEET_NOW = datetime(2026, 11, 20, 6, tzinfo=UTC)
COMPONENT_DELETED = datetime(2026, 11, 19, 12, tzinfo=UTC)
ENDPOINT_DELETED = datetime(2026, 11, 19, 18, 30, tzinfo=UTC)
LATE_CREATED = datetime(2026, 11, 19, 20, tzinfo=UTC)
BEFORE_BOTH = datetime(2026, 11, 19, 10, tzinfo=UTC)
BETWEEN = datetime(2026, 11, 19, 15, tzinfo=UTC)
ARN = "arn:aws:sagemaker:us-east-1:123456789012"


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _timed_fleet() -> dict[str, Any]:
    """``shared`` keeps ``ic-stays`` and loses ``ic-gone`` at 12:00; ``retired`` is deleted at
    18:30 with its component ``ic-orphan`` (which has no deleted_at of its own); ``late`` is
    created at 20:00. Everything is invoked once a minute and publishes enhanced metrics."""
    busy = [seg("2026-11-18T00:00:00Z", NOW)]
    return fleet(
        gpu_endpoint(
            "shared",
            [
                component(
                    "ic-stays",
                    traffic=busy,
                    copies=[{"from": LONG_AGO, "count": 1}, {"from": "2026-11-19T14:00:00Z", "count": 2}],
                ),
                component("ic-gone", traffic=busy, deleted_at=_stamp(COMPONENT_DELETED), tags={"team": "gone"}),
            ],
            metrics=ENHANCED_60S,
        ),
        gpu_endpoint(
            "retired",
            [component("ic-orphan", traffic=busy)],
            count=[{"from": LONG_AGO, "count": 1}, {"from": "2026-11-19T09:00:00Z", "count": 2}],
            deleted_at=_stamp(ENDPOINT_DELETED),
            tags={"team": "retired"},
            metrics=ENHANCED_60S,
        ),
        endpoint("late", created_at=_stamp(LATE_CREATED), traffic=busy, metrics=ENHANCED_60S),
    )


@pytest.fixture
def timed_aws() -> Iterator[AwsContext]:
    with emulated(_timed_fleet()) as aws:
        yield aws


def _set_clock(aws: AwsContext, when: datetime) -> None:
    assert aws.emulator is not None
    assert aws.emulator.set_clock is not None
    aws.emulator.set_clock(when)


def _error_code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    code: str = caught.value.response["Error"]["Code"]
    return code


def _endpoint_names(aws: AwsContext) -> list[str]:
    return sorted(e["EndpointName"] for e in aws.client("sagemaker").list_endpoints(MaxResults=100)["Endpoints"])


def _component_names(aws: AwsContext) -> list[str]:
    listed = aws.client("sagemaker").list_inference_components(MaxResults=100)["InferenceComponents"]
    return sorted(c["InferenceComponentName"] for c in listed)


def _hourly(
    aws: AwsContext, namespace: str, metric: str, dims: dict[str, str], stat: str, start: datetime, end: datetime
) -> dict[datetime, float]:
    query = {
        "Id": "q",
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
            },
            "Period": 3600,
            "Stat": stat,
        },
    }
    answer = aws.client("cloudwatch").get_metric_data(
        MetricDataQueries=[query], StartTime=start, EndTime=end, ScanBy="TimestampAscending"
    )
    (result,) = answer["MetricDataResults"]
    return dict(zip(result["Timestamps"], result["Values"], strict=True))


def _invocations(aws: AwsContext, component_name: str, start: datetime, end: datetime) -> dict[datetime, float]:
    return _hourly(aws, mn.SAGEMAKER_NAMESPACE, mn.INVOCATIONS, {mn.DIM_COMPONENT: component_name}, "Sum", start, end)


def _series(aws: AwsContext, namespace: str, **dimension_filter: str) -> list[dict[str, Any]]:
    filters = [{"Name": k, "Value": v} for k, v in dimension_filter.items()]
    metrics: list[dict[str, Any]] = aws.client("cloudwatch").list_metrics(Namespace=namespace, Dimensions=filters)["Metrics"]
    return metrics


def _lookup(aws: AwsContext, **kwargs: Any) -> dict[str, Any]:
    answer: dict[str, Any] = aws.client("cloudtrail").lookup_events(**kwargs)
    return answer


# -- SageMaker -------------------------------------------------------------------------------


def test_at_now_deleted_endpoints_and_components_are_absent_from_every_sagemaker_answer(timed_aws: AwsContext) -> None:
    sagemaker = timed_aws.client("sagemaker")

    endpoints = _endpoint_names(timed_aws)
    components = _component_names(timed_aws)
    on_retired = sagemaker.list_inference_components(EndpointNameEquals="retired")["InferenceComponents"]
    described = _error_code(sagemaker.describe_endpoint, EndpointName="retired")
    described_gone = _error_code(sagemaker.describe_inference_component, InferenceComponentName="ic-gone")
    described_orphan = _error_code(sagemaker.describe_inference_component, InferenceComponentName="ic-orphan")
    tags_of_retired = _error_code(sagemaker.list_tags, ResourceArn=f"{ARN}:endpoint/retired")
    tags_of_gone = _error_code(sagemaker.list_tags, ResourceArn=f"{ARN}:inference-component/ic-gone")
    config = sagemaker.describe_endpoint_config(EndpointConfigName="retired-config")

    assert endpoints == ["late", "shared"]
    assert components == ["ic-stays"]
    assert on_retired == []
    assert {described, described_gone, described_orphan, tags_of_retired, tags_of_gone} == {"ValidationException"}
    assert config["EndpointConfigName"] == "retired-config"  # configs outlive their endpoints


def test_before_a_deletion_the_clock_shows_the_resource_with_the_counts_of_then(timed_aws: AwsContext) -> None:
    sagemaker = timed_aws.client("sagemaker")

    _set_clock(timed_aws, BEFORE_BOTH)
    endpoints_then = _endpoint_names(timed_aws)
    components_then = _component_names(timed_aws)
    retired = sagemaker.describe_endpoint(EndpointName="retired")
    retired_tags = sagemaker.list_tags(ResourceArn=retired["EndpointArn"])
    gone = sagemaker.describe_inference_component(InferenceComponentName="ic-gone")
    gone_tags = sagemaker.list_tags(ResourceArn=gone["InferenceComponentArn"])
    stays_then = sagemaker.describe_inference_component(InferenceComponentName="ic-stays")
    late_then = _error_code(sagemaker.describe_endpoint, EndpointName="late")

    _set_clock(timed_aws, BETWEEN)
    endpoints_between = _endpoint_names(timed_aws)
    components_between = _component_names(timed_aws)
    stays_between = sagemaker.describe_inference_component(InferenceComponentName="ic-stays")

    _set_clock(timed_aws, FLEET_NOW)
    endpoints_at_now = _endpoint_names(timed_aws)

    answers = [retired, retired_tags, gone, gone_tags, stays_then, stays_between]
    assert all(a["ResponseMetadata"]["RequestId"] == "emulated" for a in answers)  # validated against botocore's model
    assert endpoints_then == ["retired", "shared"]  # "late" is not created yet
    assert components_then == ["ic-gone", "ic-orphan", "ic-stays"]
    assert retired["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    assert {t["Key"]: t["Value"] for t in retired_tags["Tags"]} == {"team": "retired"}
    assert {t["Key"]: t["Value"] for t in gone_tags["Tags"]} == {"team": "gone"}
    assert stays_then["RuntimeConfig"] == {"DesiredCopyCount": 1, "CurrentCopyCount": 1}
    assert late_then == "ValidationException"
    assert endpoints_between == ["retired", "shared"]
    assert components_between == ["ic-orphan", "ic-stays"]
    assert stays_between["RuntimeConfig"] == {"DesiredCopyCount": 2, "CurrentCopyCount": 2}
    assert endpoints_at_now == ["late", "shared"]


def test_the_inventory_adapter_sees_the_estate_of_the_clock_through_the_contexts_handle(timed_aws: AwsContext) -> None:
    def inventory() -> Any:
        return SageMakerInventory(timed_aws.client("sagemaker"), timed_aws.retry, 1).collect(timed_aws.region)

    at_now = inventory()
    _set_clock(timed_aws, BEFORE_BOTH)
    then = inventory()

    assert [e.name for e in at_now.endpoints] == ["late", "shared"]
    assert [c.name for c in at_now.components] == ["ic-stays"]
    assert [e.name for e in then.endpoints] == ["retired", "shared"]
    assert [c.name for c in then.components] == ["ic-gone", "ic-orphan", "ic-stays"]
    assert then.endpoint("retired").variants[0].instance_count == 2


def test_list_endpoints_pages_newest_first_by_default_and_honours_its_filters() -> None:
    doc = fleet(*(endpoint(f"ep-{i}", created_at=f"2026-10-0{i + 1}T00:00:00Z") for i in range(5)))
    with emulated(doc) as aws:
        sagemaker = aws.client("sagemaker")
        pages: list[list[str]] = []
        token: str | None = None
        while True:
            page = sagemaker.list_endpoints(MaxResults=2, **({"NextToken": token} if token else {}))
            pages.append([e["EndpointName"] for e in page["Endpoints"]])
            token = page.get("NextToken")
            if not token:
                break
        by_name = sagemaker.list_endpoints(SortBy="Name", SortOrder="Ascending")["Endpoints"]
        recent = sagemaker.list_endpoints(CreationTimeAfter=datetime(2026, 10, 3, tzinfo=UTC))["Endpoints"]
        too_many = _error_code(sagemaker.list_endpoints, MaxResults=101)

    assert pages == [["ep-4", "ep-3"], ["ep-2", "ep-1"], ["ep-0"]]
    assert [e["EndpointName"] for e in by_name] == ["ep-0", "ep-1", "ep-2", "ep-3", "ep-4"]
    assert sorted(e["EndpointName"] for e in recent) == ["ep-3", "ep-4"]
    assert too_many == "ValidationException"


# -- CloudWatch ------------------------------------------------------------------------------


def test_deleted_resources_emit_no_metric_from_their_deletion_on(timed_aws: AwsContext) -> None:
    day = (datetime(2026, 11, 19, 9, tzinfo=UTC), datetime(2026, 11, 19, 21, tzinfo=UTC))
    retired_dims = {mn.DIM_ENDPOINT: "retired", mn.DIM_VARIANT: "AllTraffic"}

    stays = _invocations(timed_aws, "ic-stays", *day)
    gone = _invocations(timed_aws, "ic-gone", *day)
    orphan = _invocations(timed_aws, "ic-orphan", *day)
    gone_gpus = _series(timed_aws, mn.ENHANCED_COMPONENTS_NAMESPACE, **{mn.DIM_COMPONENT: "ic-gone"})
    gone_gpu = _hourly(timed_aws, mn.ENHANCED_COMPONENTS_NAMESPACE, mn.GPU_UTILIZATION, _dims(gone_gpus[0]), "SampleCount", *day)
    (retired_cpu,) = _series(
        timed_aws, mn.ENHANCED_ENDPOINTS_NAMESPACE, **retired_dims, InstanceId=_first_instance(timed_aws, "retired")
    )
    cpu = _hourly(timed_aws, mn.ENHANCED_ENDPOINTS_NAMESPACE, retired_cpu["MetricName"], _dims(retired_cpu), "SampleCount", *day)

    hours = [day[0] + timedelta(hours=h) for h in range(12)]
    assert stays == dict.fromkeys(hours, 60.0)
    assert gone == {h: 60.0 for h in hours if h < COMPONENT_DELETED}
    assert gone_gpu == {h: 60.0 for h in hours if h < COMPONENT_DELETED}
    # The endpoint goes at 18:30: its component with it (no deleted_at of its own), and its instances.
    assert orphan == {h: 60.0 for h in hours if h < ENDPOINT_DELETED} | {datetime(2026, 11, 19, 18, tzinfo=UTC): 30.0}
    assert cpu == {h: 60.0 for h in hours if h < ENDPOINT_DELETED} | {datetime(2026, 11, 19, 18, tzinfo=UTC): 30.0}


def _dims(metric: dict[str, Any]) -> dict[str, str]:
    return {d["Name"]: d["Value"] for d in metric["Dimensions"]}


def _first_instance(aws: AwsContext, endpoint_name: str) -> str:
    series = _series(aws, mn.ENHANCED_ENDPOINTS_NAMESPACE, **{mn.DIM_ENDPOINT: endpoint_name})
    return min(_dims(m)[mn.DIM_INSTANCE] for m in series)


def test_cloudwatch_holds_no_sample_at_or_after_the_clock(timed_aws: AwsContext) -> None:
    window = (datetime(2026, 11, 19, 8, tzinfo=UTC), datetime(2026, 11, 19, 12, tzinfo=UTC))
    late_dims = {mn.DIM_ENDPOINT: "late"}

    at_now = _invocations(timed_aws, "ic-stays", *window)
    late_at_now = _series(timed_aws, mn.SAGEMAKER_NAMESPACE, **late_dims)
    _set_clock(timed_aws, datetime(2026, 11, 19, 10, 30, tzinfo=UTC))
    then = _invocations(timed_aws, "ic-stays", *window)
    late_then = _series(timed_aws, mn.SAGEMAKER_NAMESPACE, **late_dims)
    _set_clock(timed_aws, FLEET_NOW)
    back_at_now = _invocations(timed_aws, "ic-stays", *window)

    assert list(at_now.values()) == [60.0, 60.0, 60.0, 60.0]
    assert then == {
        datetime(2026, 11, 19, 8, tzinfo=UTC): 60.0,
        datetime(2026, 11, 19, 9, tzinfo=UTC): 60.0,
        datetime(2026, 11, 19, 10, tzinfo=UTC): 30.0,
    }
    assert [m["MetricName"] for m in late_at_now] == [mn.INVOCATIONS]
    assert late_then == []  # no sample yet: ListMetrics does not know the series
    assert back_at_now == at_now


def test_a_gap_removes_every_enhanced_sample_of_the_endpoint_in_the_span_exactly() -> None:
    gap = {"from": "2026-11-19T12:20:00Z", "to": "2026-11-19T12:45:00Z"}
    doc = fleet(
        gpu_endpoint(
            "patchy",
            [component("ic", traffic=[seg("2026-11-19T00:00:00Z", NOW)])],
            metrics={"enhanced": True, "publish_frequency_s": 10, "gaps": [gap]},
        )
    )
    hour = (datetime(2026, 11, 19, 12, tzinfo=UTC), datetime(2026, 11, 19, 13, tzinfo=UTC))
    with emulated(doc) as aws:
        gpus = _series(aws, mn.ENHANCED_COMPONENTS_NAMESPACE, **{mn.DIM_COMPONENT: "ic"})
        (cpu,) = _series(aws, mn.ENHANCED_ENDPOINTS_NAMESPACE, **{mn.DIM_ENDPOINT: "patchy"})
        gpu_samples = _hourly(aws, mn.ENHANCED_COMPONENTS_NAMESPACE, mn.GPU_UTILIZATION, _dims(gpus[0]), "SampleCount", *hour)
        cpu_samples = _hourly(aws, mn.ENHANCED_ENDPOINTS_NAMESPACE, cpu["MetricName"], _dims(cpu), "SampleCount", *hour)
        invocations = _invocations(aws, "ic", *hour)
        query = {
            "Id": "q",
            "MetricStat": {
                "Metric": {k: gpus[0][k] for k in ("Namespace", "MetricName", "Dimensions")},
                "Period": 60,
                "Stat": "SampleCount",
            },
        }
        minutes = aws.client("cloudwatch").get_metric_data(
            MetricDataQueries=[query], StartTime=hour[0], EndTime=hour[1], ScanBy="TimestampAscending"
        )["MetricDataResults"][0]

    assert gpu_samples == {hour[0]: 35 * 6.0}  # 60 minutes, 25 of them in the gap, 6 samples a minute
    assert cpu_samples == {hour[0]: 35 * 6.0}
    assert invocations == {hour[0]: 60.0}  # AWS/SageMaker is unaffected
    seen = {t.minute for t in minutes["Timestamps"]}
    assert seen == set(range(60)) - set(range(20, 45))  # [from, to): 12:19 and 12:45 are there, 12:20 and 12:44 not
    assert set(minutes["Values"]) == {6.0}


# -- CloudTrail ------------------------------------------------------------------------------


def test_lookup_events_holds_one_management_event_per_deletion_newest_first(timed_aws: AwsContext) -> None:
    answer = _lookup(timed_aws)

    assert answer["ResponseMetadata"]["RequestId"] == "emulated"  # validated against botocore's cloudtrail model
    assert "NextToken" not in answer
    deleted_endpoint, deleted_component = answer["Events"]  # no event for ic-orphan: it went with its endpoint
    assert (deleted_endpoint["EventName"], deleted_endpoint["EventTime"]) == ("DeleteEndpoint", ENDPOINT_DELETED)
    assert deleted_endpoint["Resources"] == [{"ResourceType": "AWS::SageMaker::Endpoint", "ResourceName": "retired"}]
    assert (deleted_component["EventName"], deleted_component["EventTime"]) == ("DeleteInferenceComponent", COMPONENT_DELETED)
    assert deleted_component["Resources"] == [{"ResourceType": "AWS::SageMaker::InferenceComponent", "ResourceName": "ic-gone"}]
    assert {e["EventSource"] for e in answer["Events"]} == {"sagemaker.amazonaws.com"}
    assert len({e["EventId"] for e in answer["Events"]}) == 2
    record = json.loads(deleted_endpoint["CloudTrailEvent"])
    assert record["eventName"] == "DeleteEndpoint"
    assert record["eventTime"] == "2026-11-19T18:30:00Z"
    assert record["eventSource"] == "sagemaker.amazonaws.com"
    assert record["awsRegion"] == "us-east-1"
    assert record["recipientAccountId"] == "123456789012"
    assert record["requestParameters"] == {"endpointName": "retired"}
    assert record["eventID"] == deleted_endpoint["EventId"]
    assert json.loads(deleted_component["CloudTrailEvent"])["requestParameters"] == {"inferenceComponentName": "ic-gone"}


def test_lookup_events_filters_by_one_attribute_and_an_inclusive_time_range(timed_aws: AwsContext) -> None:
    def names(**kwargs: Any) -> list[str]:
        return [r["ResourceName"] for e in _lookup(timed_aws, **kwargs)["Events"] for r in e["Resources"]]

    def attribute(key: str, value: str) -> dict[str, Any]:
        return {"LookupAttributes": [{"AttributeKey": key, "AttributeValue": value}]}

    assert names(**attribute("EventName", "DeleteInferenceComponent")) == ["ic-gone"]
    assert names(**attribute("EventName", "DeleteEndpoint")) == ["retired"]
    assert names(**attribute("ResourceName", "retired")) == ["retired"]
    assert names(**attribute("ResourceType", "AWS::SageMaker::InferenceComponent")) == ["ic-gone"]
    assert names(**attribute("EventSource", "sagemaker.amazonaws.com")) == ["retired", "ic-gone"]
    assert names(**attribute("EventName", "CreateEndpoint")) == []
    # StartTime and EndTime are inclusive.
    assert names(StartTime=ENDPOINT_DELETED, EndTime=ENDPOINT_DELETED) == ["retired"]
    assert names(StartTime=COMPONENT_DELETED, EndTime=ENDPOINT_DELETED - timedelta(seconds=1)) == ["ic-gone"]
    assert names(EndTime=COMPONENT_DELETED - timedelta(seconds=1)) == []
    assert names(StartTime=ENDPOINT_DELETED + timedelta(seconds=1)) == []
    assert names(EventCategory="insight") == []

    two = [
        {"AttributeKey": "EventName", "AttributeValue": "DeleteEndpoint"},
        {"AttributeKey": "ResourceName", "AttributeValue": "x"},
    ]
    cloudtrail = timed_aws.client("cloudtrail")
    assert _error_code(cloudtrail.lookup_events, LookupAttributes=two) == "InvalidLookupAttributesException"
    assert (
        _error_code(cloudtrail.lookup_events, StartTime=ENDPOINT_DELETED, EndTime=COMPONENT_DELETED)
        == "InvalidTimeRangeException"
    )
    assert _error_code(cloudtrail.lookup_events, MaxResults=51) == "InvalidMaxResultsException"
    assert _error_code(cloudtrail.lookup_events, NextToken="not-a-token") == "InvalidNextTokenException"


def test_lookup_events_holds_only_the_events_up_to_the_clock(timed_aws: AwsContext) -> None:
    def names() -> list[str]:
        return [e["Resources"][0]["ResourceName"] for e in _lookup(timed_aws)["Events"]]

    _set_clock(timed_aws, BEFORE_BOTH)
    before = names()
    _set_clock(timed_aws, COMPONENT_DELETED)  # at the instant: the event is there
    at_the_instant = names()
    _set_clock(timed_aws, BETWEEN)
    between = names()

    assert before == []
    assert at_the_instant == ["ic-gone"]
    assert between == ["ic-gone"]


def test_lookup_events_pages_fifty_at_a_time_by_default_and_counts_its_calls() -> None:
    first = datetime(2026, 11, 19, tzinfo=UTC)
    doc = fleet(*(endpoint(f"ep-{i:02d}", deleted_at=_stamp(first + timedelta(minutes=i))) for i in range(55)))
    with EmulatedAws(parse_fleet(doc)) as emulator:
        cloudtrail = emulator.client("cloudtrail")
        default = cloudtrail.lookup_events()
        rest = cloudtrail.lookup_events(NextToken=default["NextToken"])
        pages: list[list[str]] = []
        token: str | None = None
        while True:
            page = cloudtrail.lookup_events(
                MaxResults=20,
                LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "DeleteEndpoint"}],
                **({"NextToken": token} if token else {}),
            )
            pages.append([e["Resources"][0]["ResourceName"] for e in page["Events"]])
            token = page.get("NextToken")
            if not token:
                break
        calls = emulator.calls["LookupEvents"]

    newest_first = [f"ep-{i:02d}" for i in reversed(range(55))]
    assert [e["Resources"][0]["ResourceName"] for e in default["Events"] + rest["Events"]] == newest_first
    assert (len(default["Events"]), len(rest["Events"])) == (50, 5)
    assert "NextToken" not in rest
    assert [len(p) for p in pages] == [20, 20, 15]
    assert [name for p in pages for name in p] == newest_first
    assert calls == 2 + 3


def test_injected_faults_reach_lookup_events_as_they_reach_every_call() -> None:
    doc = fleet(endpoint("gone", deleted_at="2026-11-19T00:00:00Z"), faults={"throttle_rate": 0.5, "error_rate": 0.2, "seed": 3})
    with emulated(doc) as aws:
        cloudtrail = aws.client("cloudtrail")
        outcomes = []
        for _ in range(30):
            try:
                cloudtrail.lookup_events()
                outcomes.append("ok")
            except ClientError as exc:
                outcomes.append(exc.response["Error"]["Code"])
        assert aws.emulator is not None
        calls = aws.emulator.calls["LookupEvents"]

    assert set(outcomes) == {"ok", "ThrottlingException", "InternalFailure"}
    assert calls == 30


# -- the clock -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "when",
    [
        pytest.param(datetime(2026, 11, 19, 12), id="naive"),  # naive: the point of the test
        pytest.param(datetime(2026, 11, 19, 12, tzinfo=timezone(timedelta(hours=1))), id="not-utc"),
        pytest.param(HISTORY_START - timedelta(seconds=1), id="before-history"),
        pytest.param(FLEET_NOW + timedelta(seconds=1), id="after-now"),
    ],
)
def test_the_clock_takes_only_an_aware_utc_instant_within_the_fleets_history(timed_aws: AwsContext, when: datetime) -> None:
    with pytest.raises(ValueError, match="clock"):
        _set_clock(timed_aws, when)


def test_setting_the_clock_reseeds_nothing_and_calls_nothing() -> None:
    with EmulatedAws(parse_fleet(_timed_fleet())) as emulator:
        index, series = emulator.metrics, len(emulator.metrics)
        for hour in range(49):
            emulator.set_clock(HISTORY_START + timedelta(hours=hour))
        assert emulator.clock == FLEET_NOW
        assert emulator.metrics is index
        assert len(emulator.metrics) == series
        assert emulator.calls.total() == 0


# -- packing --------------------------------------------------------------------------------


def test_copies_are_packed_among_the_components_that_exist_at_each_instant() -> None:
    # Each copy takes all 4 GPUs of the one instance: the new component fits only because the old one is gone.
    swap = "2026-11-19T12:00:00Z"
    doc = fleet(
        gpu_endpoint(
            "swapped",
            [component("ic-old", accelerators=4, deleted_at=swap), component("ic-new", accelerators=4, created_at=swap)],
            metrics=ENHANCED_60S,
        )
    )
    with emulated(doc) as aws:
        old = _series(aws, mn.ENHANCED_COMPONENTS_NAMESPACE, **{mn.DIM_COMPONENT: "ic-old"})
        new = _series(aws, mn.ENHANCED_COMPONENTS_NAMESPACE, **{mn.DIM_COMPONENT: "ic-new"})

    assert len(old) == len(new) == 4
    assert {_dims(m)["GpuId"] for m in old} == {_dims(m)["GpuId"] for m in new} == {"0", "1", "2", "3"}
