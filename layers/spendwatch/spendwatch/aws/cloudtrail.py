"""CloudTrail adapter: deletions from the 90-day event history (``LookupEvents``, kept by
every account at no charge). Failed calls (``errorCode`` in the event) deleted nothing."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from spendwatch.aws.retry import DEFAULT_RETRY, RetryPolicy, unavailable
from spendwatch.core.errors import AwsError
from spendwatch.core.snapshot import Deletion
from spendwatch.core.timestamps import ensure_utc

log = logging.getLogger(__name__)
IAM_ACTIONS = ("cloudtrail:LookupEvents",)
EVENTS = {"DeleteEndpoint": ("endpoint", "endpointName"), "DeleteInferenceComponent": ("component", "inferenceComponentName")}


class CloudTrailHistory:
    def __init__(self, client: Any, retry: RetryPolicy = DEFAULT_RETRY) -> None:
        self._client = client
        self._retry = retry
        self.calls = 0

    def deletions(self, start: datetime, end: datetime) -> list[Deletion]:
        """Every successful endpoint and inference component deletion in ``[start, end]``."""
        found: list[Deletion] = []
        for event_name, (kind, parameter) in EVENTS.items():
            token: str | None = None
            while True:
                kwargs: dict[str, Any] = {
                    "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": event_name}],
                    "StartTime": start,
                    "EndTime": end,
                    "MaxResults": 50,
                }
                if token:
                    kwargs["NextToken"] = token
                self.calls += 1
                try:
                    page = self._retry.call("LookupEvents", self._client.lookup_events, **kwargs)
                except AwsError as exc:
                    if not unavailable(exc):
                        raise
                    # No event history here (an emulator): deletions are then "time unknown" findings.
                    log.warning("LookupEvents is not available (%s): deletion times unknown", exc.code)
                    return found
                for event in page.get("Events", []):
                    deletion = _deletion(event, kind, parameter)
                    if deletion is not None:
                        found.append(deletion)
                token = page.get("NextToken")
                if not token:
                    break
        return found


def _deletion(event: dict[str, Any], kind: str, parameter: str) -> Deletion | None:
    try:
        detail = json.loads(event.get("CloudTrailEvent") or "{}")
    except json.JSONDecodeError:
        detail = {}
    if detail.get("errorCode"):
        return None  # the call failed: nothing was deleted
    name = (detail.get("requestParameters") or {}).get(parameter)
    if not name:
        name = next((r.get("ResourceName") for r in event.get("Resources", []) if r.get("ResourceName")), None)
    if not name or "EventTime" not in event:
        return None
    return Deletion(kind, str(name), ensure_utc(event["EventTime"]))
