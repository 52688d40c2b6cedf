"""Retries with capped, jittered exponential backoff around every AWS call an adapter makes.

botocore retries too; this layer is what makes a run survive a burst of throttling across
thousands of calls, and turns what is left into a domain error naming the operation.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from spendwatch.core.errors import AwsError

RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "InternalFailure",
        "InternalServerError",
        "InternalError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    base_delay_s: float = 0.2
    max_delay_s: float = 10.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def call(self, operation: str, fn: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        """Call ``fn(**kwargs)``; retry throttling and 5xx answers; raise AwsError at the end."""
        for attempt in range(1, self.attempts + 1):
            try:
                return fn(**kwargs)
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
                status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
                message = str(exc.response.get("Error", {}).get("Message", ""))
                if (code in RETRYABLE_CODES or status >= 500) and attempt < self.attempts:
                    delay = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
                    self.sleep(random.uniform(0, delay))  # noqa: S311 - jitter, not security
                    continue
                raise AwsError(operation, code, message, exc.response) from exc
        raise AssertionError("unreachable")  # pragma: no cover


DEFAULT_RETRY = RetryPolicy()
NO_WAIT_RETRY = RetryPolicy(sleep=lambda _seconds: None)
