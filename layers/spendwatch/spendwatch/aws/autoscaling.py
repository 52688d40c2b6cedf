"""Application Auto Scaling, for inference components it scales: their scalable target's
capacity limits, read and set (an injected client, retries inside, ``AwsError`` out).

A component whose copy count Application Auto Scaling manages would be scaled back to its
target's ``MinCapacity``: remediation lowers that minimum to 0 before it sets the copies to 0,
and restore puts the saved limits back."""

from __future__ import annotations

from typing import Any

from spendwatch.aws.retry import DEFAULT_RETRY, RetryPolicy

IAM_ACTIONS = ("application-autoscaling:DescribeScalableTargets", "application-autoscaling:RegisterScalableTarget")
NAMESPACE = "sagemaker"
COPY_COUNT = "sagemaker:inference-component:DesiredCopyCount"


def resource_id(component: str) -> str:
    return f"inference-component/{component}"


class ScalableTargets:
    def __init__(self, client: Any, retry: RetryPolicy = DEFAULT_RETRY) -> None:
        self._client = client
        self._retry = retry

    def component_limits(self, component: str) -> dict[str, int] | None:
        """The copy count's ``MinCapacity`` and ``MaxCapacity``, or None when no scalable target manages it."""
        page = self._retry.call(
            "DescribeScalableTargets",
            self._client.describe_scalable_targets,
            ServiceNamespace=NAMESPACE,
            ResourceIds=[resource_id(component)],
            ScalableDimension=COPY_COUNT,
        )
        for target in page.get("ScalableTargets", []):
            if target.get("ResourceId") == resource_id(component):
                return {"MinCapacity": int(target["MinCapacity"]), "MaxCapacity": int(target["MaxCapacity"])}
        return None

    def set_component_limits(self, component: str, min_capacity: int, max_capacity: int) -> None:
        """Update the existing scalable target's limits (RegisterScalableTarget on a registered
        target changes only what it is given)."""
        self._retry.call(
            "RegisterScalableTarget",
            self._client.register_scalable_target,
            ServiceNamespace=NAMESPACE,
            ResourceId=resource_id(component),
            ScalableDimension=COPY_COUNT,
            MinCapacity=min_capacity,
            MaxCapacity=max_capacity,
        )
