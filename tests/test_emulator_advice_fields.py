"""The fleet spec's extensions for right-sizing advice: a classic variant's
``cpu_utilization_pct`` and ``gpu_utilization_pct`` (the standard instance metrics they
publish) and ``autoscaling`` on variants and components (Application Auto Scaling's scalable
targets and target-tracking policies, per estate)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from spendwatch.aws.scaling import ScalingReader
from spendwatch.aws.session import AwsContext
from spendwatch.core import metricnames as mn
from spendwatch.core.errors import InputError
from spendwatch_emulator.fleet import parse_fleet
from tests.conftest import emulated
from tests.fleets import NOW, component, endpoint, fleet, gpu_endpoint, seg

HOUR = (datetime(2026, 11, 19, 12, tzinfo=UTC), datetime(2026, 11, 19, 13, tzinfo=UTC))


def _variant(doc: dict[str, Any], index: int = 0) -> dict[str, Any]:
    variant: dict[str, Any] = doc["endpoints"][index]["variants"][0]
    return variant


def _with(spec: dict[str, Any], **variant: Any) -> dict[str, Any]:
    spec["variants"][0].update(variant)
    return spec


def _metric(aws: AwsContext, namespace: str, name: str, dims: dict[str, str], stat: str = "Average") -> list[float]:
    query = {
        "Id": "q",
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
            },
            "Period": 3600,
            "Stat": stat,
        },
    }
    answer = aws.client("cloudwatch").get_metric_data(MetricDataQueries=[query], StartTime=HOUR[0], EndTime=HOUR[1])
    values: list[float] = answer["MetricDataResults"][0]["Values"]
    return values


# -- the parser: every mistake names its field ------------------------------------------------------


def _serverless() -> dict[str, Any]:
    return {
        "name": "sls",
        "created_at": "2026-10-01T00:00:00Z",
        "kind": "serverless",
        "variants": [{"name": "AllTraffic", "serverless": {"memory_mb": 2048}, "cpu_utilization_pct": 50}],
    }


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        (_with(endpoint("a"), cpu_utilization_pct=120), "endpoints[0].variants[0].cpu_utilization_pct", "100"),
        (_with(endpoint("a"), gpu_utilization_pct=50), "endpoints[0]", "variants[0].gpu_utilization_pct"),
        (_with(endpoint("a", instance_type="ml.x9.huge"), cpu_utilization_pct=50), "endpoints[0]", "is unknown"),
        (_serverless(), "endpoints[0]", "variants[0].cpu_utilization_pct: not for a serverless variant"),
        (
            _with(gpu_endpoint("g", [component("ic")]), cpu_utilization_pct=50),
            "endpoints[0]",
            "variants[0].cpu_utilization_pct: not for a variant that hosts components",
        ),
        (
            _with(endpoint("a"), autoscaling={"min": 3, "max": 2, "target": 10}),
            "endpoints[0].variants[0].autoscaling",
            "'max' must be at least 'min'",
        ),
        (_with(endpoint("a"), autoscaling={"min": 0, "max": 2, "target": 10}), "endpoints[0].variants[0].autoscaling.min", "1"),
        (
            _with(endpoint("a"), autoscaling={"min": 1, "max": 2, "target": 10, "metric": "MemoryUtilization"}),
            "endpoints[0].variants[0].autoscaling.metric",
            "SageMakerVariantInvocationsPerInstance",
        ),
        (
            _with(endpoint("a"), autoscaling={"min": 1, "max": 2, "target": 70, "metric": "GPUUtilization"}),
            "endpoints[0]",
            "variants[0].autoscaling.metric: instance type ml.m5.large has no GPUs",
        ),
        (
            _with(endpoint("a"), autoscaling={"min": 1, "max": 2, "target": 0}),
            "endpoints[0].variants[0].autoscaling.target",
            "greater than 0",
        ),
        (
            _with(endpoint("a"), autoscaling={"min": 1, "max": 2, "target": 5, "cooldown": 60}),
            "endpoints[0].variants[0].autoscaling.cooldown",
            "unknown field",
        ),
        (
            gpu_endpoint("g", [component("ic", autoscaling={"min": 0, "max": 2, "target": 5, "metric": "CPUUtilization"})]),
            "endpoints[0].variants[0].inference_components[0].autoscaling.metric",
            "SageMakerInferenceComponentInvocationsPerCopy",
        ),
    ],
)
def test_a_mistake_in_an_extension_names_its_field(spec: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_fleet(fleet(spec))
    assert caught.value.field == f"fleet: {field}"
    assert words in caught.value.message


def test_the_extensions_are_optional_and_default_to_nothing() -> None:
    parsed = parse_fleet(fleet(endpoint("a"), gpu_endpoint("g", [component("ic")])))
    variant = parsed.endpoints[0].variants[0]
    assert (variant.cpu_utilization_pct, variant.gpu_utilization_pct, variant.autoscaling) == (None, None, None)
    assert parsed.endpoints[1].variants[0].inference_components[0].autoscaling is None  # type: ignore[index]


# -- the standard utilization metrics ----------------------------------------------------------------


def test_utilization_is_published_summed_over_the_units_while_instances_run() -> None:
    doc = fleet(
        _with(endpoint("gpu", instance_type="ml.g5.12xlarge", count=2), cpu_utilization_pct=25, gpu_utilization_pct=80),
        _with(endpoint("cpu", instance_type="ml.c5.xlarge"), cpu_utilization_pct=60),
        _with(
            endpoint("gone", count=[{"from": "2026-10-01T00:00:00Z", "count": 1}, {"from": "2026-11-19T12:30:00Z", "count": 0}]),
            cpu_utilization_pct=50,
        ),
        endpoint("plain", traffic=[seg("2026-11-19T00:00:00Z", NOW)]),
    )
    with emulated(doc) as aws:

        def dims(name: str) -> dict[str, str]:
            return {mn.DIM_ENDPOINT: name, mn.DIM_VARIANT: "AllTraffic"}

        ns = mn.ENHANCED_ENDPOINTS_NAMESPACE
        assert _metric(aws, ns, mn.CPU_UTILIZATION, dims("gpu")) == [25.0 * 48]  # 48 vCPUs
        assert _metric(aws, ns, mn.VARIANT_GPU_UTILIZATION, dims("gpu")) == [80.0 * 4]  # 4 GPUs
        assert _metric(aws, ns, mn.CPU_UTILIZATION, dims("cpu")) == [60.0 * 4]
        assert _metric(aws, ns, mn.VARIANT_GPU_UTILIZATION, dims("cpu")) == []  # no GPU, no series
        assert _metric(aws, ns, mn.CPU_UTILIZATION, dims("gone"), "SampleCount") == [30.0]  # instances until 12:30
        assert _metric(aws, ns, mn.CPU_UTILIZATION, dims("plain")) == []  # the fleet gives no value: not published
        listed = aws.client("cloudwatch").list_metrics(Namespace=ns, Dimensions=[{"Name": mn.DIM_ENDPOINT, "Value": "plain"}])
        assert listed["Metrics"] == []


def test_enhanced_per_instance_cpu_takes_the_fields_value_and_keeps_its_default() -> None:
    doc = fleet(
        _with(endpoint("set", instance_type="ml.c5.xlarge", metrics={"enhanced": True}), cpu_utilization_pct=60),
        endpoint("unset", metrics={"enhanced": True}),
    )
    with emulated(doc) as aws:
        cloudwatch = aws.client("cloudwatch")
        values = {}
        for name in ("set", "unset"):
            (series,) = [
                m
                for m in cloudwatch.list_metrics(Namespace=mn.ENHANCED_ENDPOINTS_NAMESPACE, MetricName=mn.CPU_UTILIZATION)[
                    "Metrics"
                ]
                if {d["Name"]: d["Value"] for d in m["Dimensions"]}.get(mn.DIM_ENDPOINT) == name
                and any(d["Name"] == mn.DIM_INSTANCE for d in m["Dimensions"])
            ]
            values[name] = _metric(
                aws, series["Namespace"], series["MetricName"], {d["Name"]: d["Value"] for d in series["Dimensions"]}
            )
    assert values == {"set": [240.0], "unset": [25.0]}  # 60 % of 4 vCPUs; the emulator's old default


# -- Application Auto Scaling ----------------------------------------------------------------------


SCALED = fleet(
    _with(
        endpoint("ranker", instance_type="ml.c5.xlarge", count=2),
        autoscaling={"min": 1, "max": 6, "metric": "CPUUtilization", "target": 280},
    ),
    *[_with(endpoint(f"ep-{n:02d}"), autoscaling={"min": 1, "max": 3, "target": 100}) for n in range(11)],
    endpoint("fixed"),
    gpu_endpoint("genai", [component("ic-chat", autoscaling={"min": 0, "max": 4, "target": 5.5}), component("ic-other")]),
)


def test_the_fleets_targets_and_policies_are_described_in_the_real_shapes_and_pages() -> None:
    with emulated(SCALED) as aws:
        client = aws.client("application-autoscaling")
        targets = client.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
        first = client.describe_scaling_policies(ServiceNamespace="sagemaker")
        second = client.describe_scaling_policies(ServiceNamespace="sagemaker", NextToken=first["NextToken"])
        one = client.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=["inference-component/ic-chat"])
        variants = client.describe_scalable_targets(
            ServiceNamespace="sagemaker", ScalableDimension="sagemaker:variant:DesiredInstanceCount"
        )["ScalableTargets"]
        with pytest.raises(ClientError) as too_many:
            client.describe_scaling_policies(ServiceNamespace="sagemaker", MaxResults=11)
        elsewhere = client.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
        scaling = ScalingReader(client, aws.retry).sagemaker_scaling()
    assert len(targets) == 13
    assert len(variants) == 12
    assert (len(first["ScalingPolicies"]), len(second["ScalingPolicies"]), "NextToken" in second) == (10, 3, False)
    (chat,) = one["ScalableTargets"]
    assert (chat["ScalableDimension"], chat["MinCapacity"], chat["MaxCapacity"]) == (
        "sagemaker:inference-component:DesiredCopyCount",
        0,
        4,
    )
    assert too_many.value.response["Error"]["Code"] == "ValidationException"
    assert elsewhere == []
    # The adapter pages through both listings and joins them by resource.
    ranker = scaling["endpoint/ranker/variant/AllTraffic"]
    (policy,) = ranker.policies
    assert (policy.metric, str(policy.target), ranker.min_capacity, ranker.max_capacity) == ("CPUUtilization", "280.0", 1, 6)
    assert ranker.scales
    assert scaling["inference-component/ic-chat"].policies[0].metric == "SageMakerInferenceComponentInvocationsPerCopy"
    assert "endpoint/fixed/variant/AllTraffic" not in scaling
    assert len(scaling) == 13


def test_a_customized_metric_policy_names_the_standard_metric_and_its_dimensions() -> None:
    with emulated(SCALED) as aws:
        policies = aws.client("application-autoscaling").describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId="endpoint/ranker/variant/AllTraffic"
        )["ScalingPolicies"]
    (policy,) = policies
    configuration = policy["TargetTrackingScalingPolicyConfiguration"]
    assert configuration["TargetValue"] == 280.0
    assert configuration["CustomizedMetricSpecification"] == {
        "MetricName": "CPUUtilization",
        "Namespace": "/aws/sagemaker/Endpoints",
        "Dimensions": [{"Name": "EndpointName", "Value": "ranker"}, {"Name": "VariantName", "Value": "AllTraffic"}],
        "Statistic": "Average",
        "Unit": "Percent",
    }
    assert policy["PolicyType"] == "TargetTrackingScaling"


def test_each_estate_describes_only_its_own_targets() -> None:
    doc = {
        "spec_version": 1,
        "now": NOW,
        "history_hours": 24,
        "estates": [
            {
                "account_id": "111111111111",
                "region": "us-east-1",
                "endpoints": [_with(endpoint("same"), autoscaling={"min": 1, "max": 2, "target": 10})],
            },
            {
                "account_id": "222222222222",
                "region": "us-east-1",
                "endpoints": [_with(endpoint("same"), autoscaling={"min": 2, "max": 9, "target": 50})],
            },
        ],
    }
    with emulated(doc) as aws:
        seen = {}
        for account in ("111111111111", "222222222222"):
            credentials = aws.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/Reader", RoleSessionName="advice")[
                "Credentials"
            ]
            session = boto3.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
                region_name="us-east-1",
            )
            assert aws.emulator is not None
            assert aws.emulator.attach is not None
            aws.emulator.attach(session)
            client = session.client("application-autoscaling")
            (target,) = client.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
            seen[account] = (target["MaxCapacity"], target["RoleARN"].split(":")[4])
        central = aws.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")
    assert seen == {"111111111111": (2, "111111111111"), "222222222222": (9, "222222222222")}
    assert central["ScalableTargets"] == []  # the central account holds no estate
