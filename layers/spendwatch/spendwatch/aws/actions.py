"""The remediation action log in the spendwatch table (item values in ``core.remediation``).

One item per action: ``pk = ACTION#<place>``, ``sk = <resource type>#<name>#<action>#<episode>``
(the episode is the resource's ``idle_since``, or ``created:<time>`` when no invocation is
known), so a replayed run, or a second ``--apply`` while the same idleness lasts, keys the
same action the same way. The item is written ``planned`` before anything is done, with a
conditional put: of two runs, one proceeds. Every later status is appended to ``history``
with a conditional update on the status it leaves (and on the run's claim), never rewritten.
What restore needs (``saved``, JSON) is stored before the action is taken.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from spendwatch.aws.retry import DEFAULT_RETRY, RetryPolicy
from spendwatch.aws.table import dump as _dump
from spendwatch.aws.table import load as _load
from spendwatch.aws.table import put_if_absent, query_items
from spendwatch.core.errors import AwsError
from spendwatch.core.remediation import (
    STALE_CLAIM,
    ActionRecord,
    ActionStatus,
    PlannedAction,
    actions_pk,
    from_item,
    history_entry,
    to_item,
)
from spendwatch.core.timestamps import format_utc

IAM_ACTIONS = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:Query")
WRITES_KEYS = (("ActionLog._put", "ACTION#"), ("ActionLog._update", "ACTION#"))
CONDITION_FAILED = "ConditionalCheckFailedException"



class ActionHistory:
    """The log, read only (what the notifier needs: its role writes no action)."""

    def __init__(self, client: Any, table_name: str, retry: RetryPolicy = DEFAULT_RETRY) -> None:
        self._client = client
        self._table = table_name
        self._retry = retry

    def records(self, place: str) -> list[ActionRecord]:
        """Every action of ``place``, oldest planned first."""
        return sorted((from_item(item) for item in self._query(actions_pk(place))), key=lambda r: (r.planned_at, r.key))

    def record(self, place: str, key: str) -> ActionRecord | None:
        item = self._retry.call(
            "GetItem",
            self._client.get_item,
            TableName=self._table,
            Key=_dump({"pk": actions_pk(place), "sk": key}),
            ConsistentRead=True,
        ).get("Item")
        return from_item(_load(item)) if item else None

    def _query(self, pk: str) -> Iterator[dict[str, Any]]:
        for item in query_items(self._client, self._retry, self._table, "pk = :pk", _dump({":pk": pk}), consistent=True):
            yield _load(item)


class ActionLog(ActionHistory):
    """The log, read and written by remediation."""


    def claim(self, action: PlannedAction, place: str, now: datetime, report_at: datetime) -> str | None:
        """Write the action ``planned`` before anything is done: this run's claim id, or None
        when another run holds it (done, under way, or in force). An action that failed, or
        that the last check skipped, or whose run left it ``planned`` longer than
        ``STALE_CLAIM`` ago (a crash), is taken over: its history goes on."""
        claim = uuid.uuid4().hex
        item = to_item(action, place, now, report_at, claim) | {"claimed_at": format_utc(now)}
        if self._put(item):
            return claim
        taken = self._update(
            place,
            action.key,
            "SET #s = :planned, claim = :claim, claimed_at = :now, #h = list_append(#h, :entry)",
            "#s IN (:failed, :skipped) OR (#s = :planned AND claimed_at < :stale)",
            {
                ":planned": ActionStatus.PLANNED.value,
                ":claim": claim,
                ":now": format_utc(now),
                ":entry": [history_entry(ActionStatus.PLANNED, now, "taken over: " + action.reason)],
                ":failed": ActionStatus.FAILED.value,
                ":skipped": ActionStatus.SKIPPED.value,
                ":stale": format_utc(now - STALE_CLAIM),
            },
        )
        return claim if taken else None

    def save(self, place: str, key: str, claim: str, saved: dict[str, Any], now: datetime) -> None:
        """Store what restore needs, before the action is taken (a taken-over action keeps
        what its first run saved: that is the state before anything was done)."""
        done = self._update(
            place,
            key,
            "SET saved = if_not_exists(saved, :saved), #h = list_append(#h, :entry)",
            "#s = :planned AND claim = :claim",
            {
                ":saved": json.dumps(saved, sort_keys=True, default=str),
                ":entry": [history_entry(ActionStatus.PLANNED, now, "saved what restore needs")],
                ":planned": ActionStatus.PLANNED.value,
                ":claim": claim,
            },
        )
        if not done:
            raise AwsError("UpdateItem", CONDITION_FAILED, f"action {key}: another run took it over before it was saved")

    def advance(
        self,
        place: str,
        key: str,
        claim: str,
        from_status: ActionStatus,
        to_status: ActionStatus,
        now: datetime,
        detail: str = "",
    ) -> bool:
        """Append ``to_status`` if the action is still ``from_status`` under this run's claim."""
        return self._update(
            place,
            key,
            "SET #s = :to, #h = list_append(#h, :entry)",
            "#s = :from AND claim = :claim",
            {
                ":to": to_status.value,
                ":entry": [history_entry(to_status, now, detail)],
                ":from": from_status.value,
                ":claim": claim,
            },
        )

    def claim_restore(self, place: str, key: str, now: datetime) -> str | None:
        """Mark a done action ``restoring`` for this run: its claim id, or None when it is not
        in force (restored already, or another run is restoring it)."""
        claim = uuid.uuid4().hex
        taken = self._update(
            place,
            key,
            "SET #s = :restoring, claim = :claim, claimed_at = :now, #h = list_append(#h, :entry)",
            "#s IN (:done, :restore_failed) OR (#s = :restoring AND claimed_at < :stale)",
            {
                ":restoring": ActionStatus.RESTORING.value,
                ":claim": claim,
                ":now": format_utc(now),
                ":entry": [history_entry(ActionStatus.RESTORING, now)],
                ":done": ActionStatus.DONE.value,
                ":restore_failed": ActionStatus.RESTORE_FAILED.value,
                ":stale": format_utc(now - STALE_CLAIM),
            },
        )
        return claim if taken else None

    # -- DynamoDB -----------------------------------------------------------------------------------

    def _put(self, item: dict[str, Any]) -> bool:
        return put_if_absent(self._client, self._retry, self._table, _dump(item))

    def _update(self, place: str, key: str, expression: str, condition: str, values: dict[str, Any]) -> bool:
        try:
            self._retry.call(
                "UpdateItem",
                self._client.update_item,
                TableName=self._table,
                Key=_dump({"pk": actions_pk(place), "sk": key}),
                UpdateExpression=expression,
                ConditionExpression=f"attribute_exists(pk) AND ({condition})",
                ExpressionAttributeNames={"#s": "status", "#h": "history"} if "#h" in expression else {"#s": "status"},
                ExpressionAttributeValues=_dump(values),
            )
        except AwsError as exc:
            if exc.code == CONDITION_FAILED:
                return False
            raise
        return True
