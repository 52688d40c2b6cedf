"""The one retry layer around every AWS call an adapter makes: capped, jittered exponential
backoff for throttling, 5xx answers and broken connections, bounded by a deadline.

botocore's own retries are switched off (``session.BOTOCORE_CONFIG``): two layers multiply
(10 x 8 attempts made one throttled call wait ~740 s). What is left after the last attempt,
or when the next wait would pass the deadline, becomes an ``AwsError`` naming the operation;
a persistent 5xx says its HTTP status, never the body of an error page.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

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
        "SlowDown",
        "InternalFailure",
        "InternalServerError",
        "InternalError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
NOT_SENT = (EndpointConnectionError, ConnectTimeoutError)  # the request never reached AWS
LOST_REPLY = (ReadTimeoutError, ConnectionClosedError)  # it may have been carried out
CONNECTION_ATTEMPTS = 3  # an unreachable endpoint is told within seconds, not minutes


LOST = "ConnectionLost"


def foreign(code: str) -> bool:
    """An error answer without an AWS error code (botocore then reports the HTTP status)."""
    return code.isdigit()


def unavailable(exc: AwsError) -> bool:
    """The endpoint does not offer the operation at all: an older region, an emulator."""
    return exc.code in UNAVAILABLE_CODES or exc.status in (404, 501) or (foreign(exc.code) and exc.status >= 500)


UNAVAILABLE_CODES = frozenset(
    {"UnknownOperationException", "InvalidAction", "NotImplemented", "NotImplementedError", "UnsupportedOperation"}
)


def ambiguous(exc: AwsError) -> bool:
    """Whether the failed call may still have been carried out (a 5xx, a lost reply)."""
    return exc.status >= 500 or exc.code == LOST


class OutOfTime(AwsError):
    """The next wait would pass the deadline: the caller stops at a whole unit of work."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    base_delay_s: float = 0.2
    max_delay_s: float = 10.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    deadline: Callable[[], float] | None = field(default=None, compare=False)
    """Seconds left before the caller must stop (the Lambda's remaining time less its margin)."""
    idempotent: bool = True
    """False for calls whose repetition has an effect (SNS Publish): then only answers that
    say the call was not carried out (throttling, a connection never made) are retried."""

    def with_deadline(self, seconds_left: Callable[[], float]) -> RetryPolicy:
        return replace(self, deadline=seconds_left)

    def unsafe(self) -> RetryPolicy:
        """This policy for a call that must not be repeated when its outcome is unknown."""
        return replace(self, idempotent=False)

    def worst_case_s(self) -> float:
        """The longest the waits of one call can add up to (request time aside)."""
        return float(sum(min(self.max_delay_s, self.base_delay_s * 2**n) for n in range(self.attempts - 1)))

    def call(self, operation: str, fn: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        """Call ``fn(**kwargs)``; retry throttling, 5xx answers and dropped connections; raise
        AwsError at the end."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn(**kwargs)
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
                status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
                message = _message(exc.response, code, status)
                throttled = code in RETRYABLE_CODES and status < 500
                retryable = throttled or (self.idempotent and (code in RETRYABLE_CODES or status >= 500))
                # A 5xx that is not an AWS error (a proxy's or an emulator's page): few tries.
                attempts = min(self.attempts, CONNECTION_ATTEMPTS) if foreign(code) else self.attempts
                if not retryable or attempt >= attempts:
                    raise AwsError(operation, code, message, exc.response) from None
                self._wait(operation, attempt, code, message, exc.response)
            except NOT_SENT as exc:
                if attempt >= min(self.attempts, CONNECTION_ATTEMPTS):
                    raise AwsError(operation, "ConnectionError", f"cannot reach AWS: {exc}") from None
                self._wait(operation, attempt, "ConnectionError", str(exc), {})
            except LOST_REPLY as exc:
                if not self.idempotent or attempt >= min(self.attempts, CONNECTION_ATTEMPTS):
                    raise AwsError(operation, LOST, f"no answer from AWS: {exc}") from None
                self._wait(operation, attempt, LOST, str(exc), {})
            except NoCredentialsError:
                raise AwsError(
                    operation,
                    "NoCredentials",
                    "no AWS credentials found: configure them (aws configure, AWS_PROFILE, environment) or use --fleet",
                ) from None
            except BotoCoreError as exc:
                raise AwsError(operation, type(exc).__name__, str(exc)) from None

    def backoff(self, operation: str, attempt: int, exc: AwsError) -> None:
        """Wait before trying ``operation`` again after ``exc`` (an answer the caller judged
        retryable, such as a transaction cancelled by a conflict)."""
        self._wait(operation, attempt, exc.code, str(exc), exc.response)

    def _wait(self, operation: str, attempt: int, code: str, message: str, response: dict[str, Any]) -> None:
        delay = random.uniform(0, min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1)))  # noqa: S311 - jitter
        if self.deadline is not None and delay >= self.deadline():
            raise OutOfTime(operation, code, f"{message} (no time left to retry before the deadline)", response)
        self.sleep(delay)


def _message(response: dict[str, Any], code: str, status: int) -> str:
    message = str(response.get("Error", {}).get("Message", "") or "")
    if status >= 500 and (not message or message.lstrip().startswith("<")):
        return f"HTTP {status} from AWS"  # an error page, not a message
    return message.splitlines()[0][:300] if message else (f"HTTP {status}" if status else code)


DEFAULT_RETRY = RetryPolicy()
NO_WAIT_RETRY = RetryPolicy(sleep=lambda _seconds: None)
