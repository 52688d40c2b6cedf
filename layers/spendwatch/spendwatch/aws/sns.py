"""SNS adapter: publishes prepared requests, retried on throttling and 5xx."""

from __future__ import annotations

from typing import Any

from spendwatch.aws.retry import DEFAULT_RETRY, RetryPolicy

IAM_ACTIONS = ("sns:Publish",)


class Publisher:
    def __init__(self, client: Any, retry: RetryPolicy = DEFAULT_RETRY) -> None:
        self._client = client
        self._retry = retry

    def publish(self, request: dict[str, Any]) -> str:
        response = self._retry.call("Publish", self._client.publish, **request)
        return str(response.get("MessageId", ""))
