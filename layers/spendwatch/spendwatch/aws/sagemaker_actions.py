"""SageMaker changes that remediation makes, and undoes: an injected client, retries inside,
domain values and ``AwsError`` out. Reads are those a change needs right before it is made
(the resource as it is now, its tags), and what restore needs saved.

Which API scales what:

* an inference component: ``UpdateInferenceComponentRuntimeConfig`` with ``CopyCount`` 0
  (and back);
* an endpoint that hosts inference components: ``CreateEndpointConfig`` (a copy of its
  config whose component-hosting variants carry ``ManagedInstanceScaling`` ``ENABLED`` with
  ``MinInstanceCount`` 0) then ``UpdateEndpoint`` to it; restore is ``UpdateEndpoint`` back to
  the saved config (configs are immutable: the original is never changed).
  ``UpdateEndpointWeightsAndCapacities`` cannot do this: it sets a variant's weight and
  desired instance count only, and managed instance scaling (which removes instances no copy
  is placed on, down to ``MinInstanceCount``) is a property of the endpoint config's variant.
  It is used only to put the saved instance counts back after a restore;
* an endpoint without components: ``DeleteEndpoint``; restore is ``CreateEndpoint`` with the
  saved config and tags (the config is kept on delete; made again from what was saved only
  if it is gone), then the saved instance counts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from spendwatch.aws.retry import DEFAULT_RETRY, RetryPolicy
from spendwatch.aws.sagemaker import SageMakerCalls
from spendwatch.core.errors import AwsError
from spendwatch.core.remediation import SavedEndpoint

IAM_ACTIONS = (
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeInferenceComponent",
    "sagemaker:ListInferenceComponents",
    "sagemaker:ListTags",
    "sagemaker:UpdateInferenceComponentRuntimeConfig",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:UpdateEndpoint",
    "sagemaker:DeleteEndpoint",
    "sagemaker:CreateEndpoint",
    "sagemaker:UpdateEndpointWeightsAndCapacities",
    "sagemaker:DeleteEndpointConfig",
)
SCALE_TO_ZERO_TAG = "spendwatch:scale-to-zero-of"
"""Marks an endpoint config spendwatch made (its value: the config it copies)."""
_GONE = ("ValidationException", "ResourceNotFound")
POLL_S = 30.0


def _missing(exc: AwsError) -> bool:
    text = str(exc).lower()
    return exc.code in _GONE and ("could not find" in text or "not found" in text or "does not exist" in text)


class SageMakerActions(SageMakerCalls):
    def __init__(self, client: Any, retry: RetryPolicy = DEFAULT_RETRY) -> None:
        self._client = client
        self._retry = retry

    # -- reads --------------------------------------------------------------------------------

    def endpoint(self, name: str) -> dict[str, Any] | None:
        """DescribeEndpoint's answer, or None when there is no such endpoint."""
        return self._describe("DescribeEndpoint", EndpointName=name)

    def endpoint_config(self, name: str) -> dict[str, Any] | None:
        return self._describe("DescribeEndpointConfig", EndpointConfigName=name)

    def component(self, name: str) -> dict[str, Any] | None:
        return self._describe("DescribeInferenceComponent", InferenceComponentName=name)

    def components_on(self, endpoint_name: str) -> list[str]:
        """The names of the inference components on an endpoint now."""
        return [c["InferenceComponentName"] for c in self._pages(
            "ListInferenceComponents", "InferenceComponents", {"EndpointNameEquals": endpoint_name, "MaxResults": 100}
        )]

    def tags(self, arn: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self._pages("ListTags", "Tags", {"ResourceArn": arn, "MaxResults": 50})}

    def save_endpoint(self, name: str) -> SavedEndpoint | None:
        """What brings an endpoint back as it is now: its config (as the CreateEndpointConfig
        request that makes it), tags and each variant's desired instance count."""
        described = self.endpoint(name)
        if described is None:
            return None
        config = self.endpoint_config(described["EndpointConfigName"])
        if config is None:
            raise AwsError("DescribeEndpointConfig", "ValidationException", f"{described['EndpointConfigName']} is gone")
        counts = {
            v["VariantName"]: int(v.get("DesiredInstanceCount", v.get("CurrentInstanceCount", 0)) or 0)
            for v in described.get("ProductionVariants", [])
            if "CurrentServerlessConfig" not in v
        }
        return SavedEndpoint(
            config_name=described["EndpointConfigName"],
            config=self.config_request(config),
            tags=self.tags(described["EndpointArn"]),
            variant_counts=counts,
            endpoint_arn=described["EndpointArn"],
        )

    def config_request(self, described: dict[str, Any]) -> dict[str, Any]:
        """The CreateEndpointConfig request that makes a config as DescribeEndpointConfig shows it."""
        members = self._client.meta.service_model.operation_model("CreateEndpointConfig").input_shape.members
        return {k: v for k, v in described.items() if k in members and k != "Tags"}

    # -- changes --------------------------------------------------------------------------------

    def set_copies(self, component: str, copies: int) -> None:
        self._retry.call(
            "UpdateInferenceComponentRuntimeConfig",
            self._client.update_inference_component_runtime_config,
            InferenceComponentName=component,
            DesiredRuntimeConfig={"CopyCount": copies},
        )

    def enable_scale_to_zero(self, endpoint_name: str, saved: SavedEndpoint) -> str:
        """Move the endpoint onto a copy of its config whose component-hosting variants scale
        down to 0 instances; the copy's name (made once: a retry finds it)."""
        name = scale_to_zero_config_name(endpoint_name, saved.config_name)
        if self.endpoint_config(name) is None:
            request = scale_to_zero_request(saved, name)
            request["Tags"] = [{"Key": SCALE_TO_ZERO_TAG, "Value": saved.config_name}]
            self.create_config(request)
        self.update_endpoint(endpoint_name, name)
        return name

    def create_config(self, request: dict[str, Any]) -> None:
        try:
            self._retry.call("CreateEndpointConfig", self._client.create_endpoint_config, **request)
        except AwsError as exc:
            if not (exc.code == "ValidationException" and "already exist" in str(exc).lower()):
                raise

    def update_endpoint(self, name: str, config_name: str) -> None:
        self._retry.call("UpdateEndpoint", self._client.update_endpoint, EndpointName=name, EndpointConfigName=config_name)

    def delete_endpoint(self, name: str) -> bool:
        """Delete an endpoint (its config is kept); False when it was gone already."""
        try:
            self._retry.call("DeleteEndpoint", self._client.delete_endpoint, EndpointName=name)
        except AwsError as exc:
            if _missing(exc):
                return False
            raise
        return True

    def create_endpoint(self, name: str, config_name: str, tags: dict[str, str]) -> None:
        kwargs: dict[str, Any] = {"EndpointName": name, "EndpointConfigName": config_name}
        if tags:
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
        self._retry.call("CreateEndpoint", self._client.create_endpoint, **kwargs)

    def set_instance_counts(self, name: str, counts: dict[str, int]) -> None:
        self._retry.call(
            "UpdateEndpointWeightsAndCapacities",
            self._client.update_endpoint_weights_and_capacities,
            EndpointName=name,
            DesiredWeightsAndCapacities=[{"VariantName": v, "DesiredInstanceCount": n} for v, n in sorted(counts.items())],
        )

    def delete_config(self, name: str) -> bool:
        try:
            self._retry.call("DeleteEndpointConfig", self._client.delete_endpoint_config, EndpointConfigName=name)
        except AwsError as exc:
            if _missing(exc):
                return False
            raise
        return True

    def wait_in_service(self, name: str, timeout_s: float, sleep: Callable[[float], None]) -> dict[str, Any] | None:
        """DescribeEndpoint until the endpoint is InService (its answer), or None when it is not
        within ``timeout_s`` (or it failed)."""
        waited = 0.0
        while True:
            described = self.endpoint(name)
            status = described.get("EndpointStatus") if described else None
            if status == "InService":
                return described
            if status in (None, "Failed", "OutOfService") or waited >= timeout_s:
                return None
            sleep(POLL_S)
            waited += POLL_S

    # -- the client -------------------------------------------------------------------------------

    def _describe(self, operation: str, **kwargs: Any) -> dict[str, Any] | None:
        try:
            return self._call(operation, **kwargs)
        except AwsError as exc:
            if _missing(exc):
                return None
            raise


def scale_to_zero_config_name(endpoint_name: str, config_name: str) -> str:
    """The name of the config spendwatch makes for an endpoint's scale to zero (at most 63
    characters, the same for the same endpoint and config)."""
    digest = hashlib.sha256(f"{endpoint_name}\0{config_name}".encode()).hexdigest()[:8]
    return f"{config_name[:45].rstrip('-')}-s2z-{digest}"


def hosts_components(variant: dict[str, Any]) -> bool:
    """A config's variant that hosts inference components names no model and is not serverless."""
    return not variant.get("ModelName") and not variant.get("ServerlessConfig")


def scale_to_zero_request(saved: SavedEndpoint, name: str) -> dict[str, Any]:
    """The saved config, renamed, with managed instance scaling down to 0 instances on every
    variant that hosts inference components (its maximum kept, at least the count now)."""
    variants = []
    for given in saved.config.get("ProductionVariants", []):
        variant = dict(given)
        if hosts_components(variant):
            current = dict(variant.get("ManagedInstanceScaling") or {})
            most = max(
                int(current.get("MaxInstanceCount", 0) or 0),
                saved.variant_counts.get(variant["VariantName"], 0),
                int(variant.get("InitialInstanceCount", 1) or 1),
                1,
            )
            variant["ManagedInstanceScaling"] = current | {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": most}
        variants.append(variant)
    return {**saved.config, "EndpointConfigName": name, "ProductionVariants": variants}


def scales_to_zero(described_endpoint: dict[str, Any]) -> bool:
    """Whether DescribeEndpoint shows managed instance scaling down to 0 instances on a variant."""
    return any(
        (v.get("ManagedInstanceScaling") or {}).get("Status") == "ENABLED"
        and int((v.get("ManagedInstanceScaling") or {}).get("MinInstanceCount", 1)) == 0
        for v in described_endpoint.get("ProductionVariants", [])
    )
