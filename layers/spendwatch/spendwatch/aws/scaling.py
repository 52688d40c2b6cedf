"""Application Auto Scaling, read only: what scales the region's SageMaker variants and
inference components (their scalable targets and scaling policies), for right-sizing advice.

An injected client, paging (NextToken) and retries inside, core values (``Scaling``) out. Two
listings a region, whatever its size: every SageMaker scalable target, then every SageMaker
scaling policy (DescribeScalingPolicies pages 10 at a time). A module of its own, apart from
``autoscaling`` (which remediation writes with): a member account's role grants reads only.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from spendwatch.aws.retry import DEFAULT_RETRY, RetryPolicy
from spendwatch.core.advice import SAGEMAKER_NAMESPACE, Scaling, ScalingPolicy

IAM_ACTIONS = ("application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies")


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def _policy(raw: dict[str, Any]) -> ScalingPolicy:
    tracking = raw.get("TargetTrackingScalingPolicyConfiguration") or {}
    predefined = tracking.get("PredefinedMetricSpecification") or {}
    customized = tracking.get("CustomizedMetricSpecification") or {}
    metric = predefined.get("PredefinedMetricType") or customized.get("MetricName")
    return ScalingPolicy(
        name=str(raw.get("PolicyName", "")),
        policy_type=str(raw.get("PolicyType", "")),
        metric=str(metric) if metric else None,
        target=_decimal(tracking.get("TargetValue")),
    )


class ScalingReader:
    def __init__(self, client: Any, retry: RetryPolicy = DEFAULT_RETRY) -> None:
        self._client = client
        self._retry = retry

    def _targets(self) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"ServiceNamespace": SAGEMAKER_NAMESPACE}
            if token:
                kwargs["NextToken"] = token
            page = self._retry.call("DescribeScalableTargets", self._client.describe_scalable_targets, **kwargs)
            yield from page.get("ScalableTargets", [])
            token = page.get("NextToken")
            if not token:
                return

    def _policies(self) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"ServiceNamespace": SAGEMAKER_NAMESPACE}
            if token:
                kwargs["NextToken"] = token
            page = self._retry.call("DescribeScalingPolicies", self._client.describe_scaling_policies, **kwargs)
            yield from page.get("ScalingPolicies", [])
            token = page.get("NextToken")
            if not token:
                return

    def sagemaker_scaling(self) -> dict[str, Scaling]:
        """Every SageMaker scalable target of the region with its policies, by ResourceId
        (``endpoint/<name>/variant/<variant>``, ``inference-component/<name>``)."""
        policies: dict[tuple[str, str], list[ScalingPolicy]] = {}
        targets = list(self._targets())
        if targets:  # no target, no policy: a region that scales nothing costs one call
            for raw in self._policies():
                key = (str(raw.get("ResourceId", "")), str(raw.get("ScalableDimension", "")))
                policies.setdefault(key, []).append(_policy(raw))
        found: dict[str, Scaling] = {}
        for raw in targets:
            resource_id, dimension = str(raw["ResourceId"]), str(raw["ScalableDimension"])
            suspended = raw.get("SuspendedState") or {}
            found[resource_id] = Scaling(
                resource_id=resource_id,
                dimension=dimension,
                min_capacity=int(raw["MinCapacity"]),
                max_capacity=int(raw["MaxCapacity"]),
                policies=tuple(sorted(policies.get((resource_id, dimension), []), key=lambda p: p.name)),
                suspended=bool(suspended.get("DynamicScalingInSuspended") or suspended.get("DynamicScalingOutSuspended")),
            )
        return found
