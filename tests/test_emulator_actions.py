"""The emulated AWS's changes (what remediation does through the API): given a fleet, when real
botocore clients change it, then every later answer (List, Describe, ListTags, GetResources,
CloudTrail) shows the change from the clock's instant on, in shapes botocore validates, and
the fleet's own timelines still answer for the time before it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from spendwatch.aws.session import AwsContext
from spendwatch.services.scan import ScanSettings, run_scan
from tests.conftest import emulated
from tests.fleets import component, endpoint, fleet, gpu_endpoint, seg

COPY_COUNT = "sagemaker:inference-component:DesiredCopyCount"
EARLIER = datetime(2026, 11, 19, 12, tzinfo=UTC)

FLEET = fleet(
    gpu_endpoint(
        "shared",
        [component("ic-busy", traffic=[seg("2026-11-18T08:00:00Z", "2026-11-20T06:00:00Z")]), component("ic-quiet", copies=2)],
        tags={"team": "search"},
    ),
    gpu_endpoint("pool", [component("ic-pool", tags={"team": "vision"})]),
    endpoint("churn", tags={"team": "growth", "cost-center": "cc-1"}),
)


@pytest.fixture
def aws() -> Iterator[AwsContext]:
    with emulated(FLEET) as context:
        yield context


def _error(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return str(caught.value.response["Error"]["Code"])


def _config_copy(sagemaker: Any, name: str, new_name: str) -> dict[str, Any]:
    described = sagemaker.describe_endpoint_config(EndpointConfigName=name)
    request = {k: v for k, v in described.items() if k not in ("EndpointConfigArn", "CreationTime", "ResponseMetadata")}
    return request | {"EndpointConfigName": new_name}


def test_copies_set_to_zero_show_from_now_on_and_not_before(aws: AwsContext) -> None:
    sagemaker = aws.client("sagemaker")
    answer = sagemaker.update_inference_component_runtime_config(
        InferenceComponentName="ic-quiet", DesiredRuntimeConfig={"CopyCount": 0}
    )
    assert answer["InferenceComponentArn"].endswith(":inference-component/ic-quiet")
    described = sagemaker.describe_inference_component(InferenceComponentName="ic-quiet")
    assert described["RuntimeConfig"] == {"DesiredCopyCount": 0, "CurrentCopyCount": 0}
    assert described["LastModifiedTime"] == aws.now
    listed = {c["InferenceComponentName"]: c for c in sagemaker.list_inference_components()["InferenceComponents"]}
    assert listed["ic-quiet"]["LastModifiedTime"] == aws.now  # the meter re-describes what moved
    assert aws.emulator is not None
    assert aws.emulator.set_clock is not None
    aws.emulator.set_clock(EARLIER)  # before the change: the fleet's own count
    assert sagemaker.describe_inference_component(InferenceComponentName="ic-quiet")["RuntimeConfig"]["CurrentCopyCount"] == 2
    assert (
        _error(
            sagemaker.update_inference_component_runtime_config,
            InferenceComponentName="nope",
            DesiredRuntimeConfig={"CopyCount": 0},
        )
        == "ValidationException"
    )


def test_a_deleted_endpoint_is_gone_everywhere_and_its_deletion_is_in_cloudtrail(aws: AwsContext) -> None:
    sagemaker, tagging = aws.client("sagemaker"), aws.client("resourcegroupstaggingapi")
    arn = sagemaker.describe_endpoint(EndpointName="churn")["EndpointArn"]
    sagemaker.delete_endpoint(EndpointName="churn")
    assert "churn" not in [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]]
    assert _error(sagemaker.describe_endpoint, EndpointName="churn") == "ValidationException"
    assert _error(sagemaker.list_tags, ResourceArn=arn) == "ValidationException"
    assert arn not in [r["ResourceARN"] for r in tagging.get_resources()["ResourceTagMappingList"]]
    assert sagemaker.describe_endpoint_config(EndpointConfigName="churn-config")["EndpointConfigName"] == "churn-config"
    events = aws.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": "churn"}]
    )["Events"]
    assert [(e["EventName"], e["EventTime"]) for e in events] == [("DeleteEndpoint", aws.now)]
    assert _error(sagemaker.delete_endpoint, EndpointName="churn") == "ValidationException"
    # The scan no longer sees it.
    report = run_scan(aws, ScanSettings())
    assert "churn" not in [f.endpoint.name for f in report.endpoints]


def test_an_endpoint_created_again_answers_as_before_with_its_tags(aws: AwsContext) -> None:
    sagemaker, tagging = aws.client("sagemaker"), aws.client("resourcegroupstaggingapi")
    before = sagemaker.describe_endpoint(EndpointName="churn")
    sagemaker.delete_endpoint(EndpointName="churn")
    created = sagemaker.create_endpoint(
        EndpointName="churn",
        EndpointConfigName="churn-config",
        Tags=[{"Key": "team", "Value": "growth"}, {"Key": "cost-center", "Value": "cc-1"}],
    )
    after = sagemaker.describe_endpoint(EndpointName="churn")
    assert created["EndpointArn"] == before["EndpointArn"]
    drop = ("CreationTime", "LastModifiedTime", "ResponseMetadata")
    assert {k: v for k, v in after.items() if k not in drop} == {k: v for k, v in before.items() if k not in drop}
    assert after["CreationTime"] == aws.now
    assert sagemaker.list_tags(ResourceArn=after["EndpointArn"])["Tags"] == [
        {"Key": "cost-center", "Value": "cc-1"},
        {"Key": "team", "Value": "growth"},
    ]
    mapped = {r["ResourceARN"]: r["Tags"] for r in tagging.get_resources()["ResourceTagMappingList"]}
    assert {t["Key"] for t in mapped[after["EndpointArn"]]} == {"team", "cost-center"}
    assert _error(sagemaker.create_endpoint, EndpointName="churn", EndpointConfigName="churn-config") == "ValidationException"
    assert _error(sagemaker.create_endpoint, EndpointName="other", EndpointConfigName="no-such-config") == "ValidationException"


def test_scale_to_zero_config_moves_an_endpoint_with_nothing_placed_to_zero_instances(aws: AwsContext) -> None:
    sagemaker = aws.client("sagemaker")
    request = _config_copy(sagemaker, "pool-config", "pool-s2z")
    request["ProductionVariants"][0]["ManagedInstanceScaling"] = {
        "Status": "ENABLED",
        "MinInstanceCount": 0,
        "MaxInstanceCount": 1,
    }
    request["Tags"] = [{"Key": "spendwatch:scale-to-zero-of", "Value": "pool-config"}]
    assert sagemaker.create_endpoint_config(**request)["EndpointConfigArn"].endswith(":endpoint-config/pool-s2z")
    assert _error(sagemaker.create_endpoint_config, **request) == "ValidationException"  # exists already
    config_arn = sagemaker.describe_endpoint_config(EndpointConfigName="pool-s2z")["EndpointConfigArn"]
    assert sagemaker.list_tags(ResourceArn=config_arn)["Tags"] == [{"Key": "spendwatch:scale-to-zero-of", "Value": "pool-config"}]

    # A copy is still placed: the instance stays.
    sagemaker.update_endpoint(EndpointName="pool", EndpointConfigName="pool-s2z")
    (variant,) = sagemaker.describe_endpoint(EndpointName="pool")["ProductionVariants"]
    assert (variant["CurrentInstanceCount"], variant["ManagedInstanceScaling"]["MinInstanceCount"]) == (1, 0)
    # Nothing placed: down to zero instances.
    sagemaker.update_inference_component_runtime_config(InferenceComponentName="ic-pool", DesiredRuntimeConfig={"CopyCount": 0})
    sagemaker.update_endpoint(EndpointName="pool", EndpointConfigName="pool-config")
    sagemaker.update_endpoint(EndpointName="pool", EndpointConfigName="pool-s2z")
    described = sagemaker.describe_endpoint(EndpointName="pool")
    assert described["EndpointConfigName"] == "pool-s2z"
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 0
    assert run_scan(aws, ScanSettings()).endpoints[1].cost.usd_per_hour == 0  # what the scan now prices
    # Back on its own config, and its instance count set back.
    sagemaker.update_endpoint(EndpointName="pool", EndpointConfigName="pool-config")
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName="pool", DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 1}]
    )
    (variant,) = sagemaker.describe_endpoint(EndpointName="pool")["ProductionVariants"]
    assert variant == {"VariantName": "AllTraffic", "CurrentInstanceCount": 1, "DesiredInstanceCount": 1}
    assert (
        _error(
            sagemaker.update_endpoint_weights_and_capacities,
            EndpointName="pool",
            DesiredWeightsAndCapacities=[{"VariantName": "Nope", "DesiredInstanceCount": 1}],
        )
        == "ValidationException"
    )
    sagemaker.delete_endpoint_config(EndpointConfigName="pool-s2z")
    assert _error(sagemaker.describe_endpoint_config, EndpointConfigName="pool-s2z") == "ValidationException"
    assert _error(sagemaker.delete_endpoint_config, EndpointConfigName="pool-s2z") == "ValidationException"


def test_managed_instance_scaling_is_refused_on_a_variant_that_names_a_model(aws: AwsContext) -> None:
    sagemaker = aws.client("sagemaker")
    request = _config_copy(sagemaker, "churn-config", "churn-s2z")
    request["ProductionVariants"][0]["ManagedInstanceScaling"] = {
        "Status": "ENABLED",
        "MinInstanceCount": 0,
        "MaxInstanceCount": 1,
    }
    assert _error(sagemaker.create_endpoint_config, **request) == "ValidationException"


def test_application_auto_scaling_targets_of_inference_components(aws: AwsContext) -> None:
    scaling = aws.client("application-autoscaling")
    target = {"ServiceNamespace": "sagemaker", "ResourceId": "inference-component/ic-quiet", "ScalableDimension": COPY_COUNT}
    assert _error(scaling.register_scalable_target, **target) == "ValidationException"  # a new target needs its limits
    scaling.register_scalable_target(**target, MinCapacity=1, MaxCapacity=4)
    scaling.register_scalable_target(**target, MinCapacity=0)  # an existing one: only what is given changes
    (found,) = scaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=["inference-component/ic-quiet"], ScalableDimension=COPY_COUNT
    )["ScalableTargets"]
    assert (found["MinCapacity"], found["MaxCapacity"], found["CreationTime"]) == (0, 4, aws.now)
    assert (
        _error(
            scaling.register_scalable_target,
            **(target | {"ResourceId": "inference-component/nope"}),
            MinCapacity=0,
            MaxCapacity=1,
        )
        == "ValidationException"
    )
    assert _error(scaling.register_scalable_target, **target, MinCapacity=5, MaxCapacity=4) == "ValidationException"
    assert (
        scaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=["inference-component/ic-busy"])[
            "ScalableTargets"
        ]
        == []
    )


def test_listings_made_before_a_change_are_not_served_after_it(aws: AwsContext) -> None:
    sagemaker = aws.client("sagemaker")
    assert len(sagemaker.list_endpoints()["Endpoints"]) == 3  # made and kept for the clock
    sagemaker.delete_endpoint(EndpointName="churn")
    assert len(sagemaker.list_endpoints()["Endpoints"]) == 2
    sagemaker.create_endpoint(EndpointName="churn", EndpointConfigName="churn-config")
    assert len(sagemaker.list_endpoints()["Endpoints"]) == 3
    assert sagemaker.list_tags(ResourceArn=sagemaker.describe_endpoint(EndpointName="churn")["EndpointArn"])["Tags"] == []
