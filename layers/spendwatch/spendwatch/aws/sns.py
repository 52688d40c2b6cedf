"""SNS adapter: publishes prepared requests. A publish is retried only when SNS says it was
not carried out (throttling); a 5xx or a lost reply may have sent it, so it is not repeated."""

from __future__ import annotations

from typing import Any

from spendwatch.aws.retry import DEFAULT_RETRY, RetryPolicy

IAM_ACTIONS = ("sns:Publish",)


class Publisher:
    def __init__(self, client: Any, retry: RetryPolicy = DEFAULT_RETRY) -> None:
        self._client = client
        self._retry = retry.unsafe()

    def publish(self, request: dict[str, Any]) -> str:
        response = self._retry.call("Publish", self._client.publish, **request)
        return str(response.get("MessageId", ""))
