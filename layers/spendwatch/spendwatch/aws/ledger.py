"""DynamoDB adapter of the chargeback ledger (layout in ``spendwatch.core.ledger``).

Records are written with TransactWriteItems: each record's Put is conditional on the record
not existing, and the monthly rollups it adds to move in the same transaction, so a replayed
or overlapping run changes nothing: neither the record nor any total.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from spendwatch.aws.memory import MeterMemory
from spendwatch.aws.retry import DEFAULT_RETRY, RetryPolicy
from spendwatch.aws.table import dump as _dump
from spendwatch.aws.table import load as _load
from spendwatch.aws.table import put_if_absent, query_items
from spendwatch.core.effective import LearnedRate
from spendwatch.core.errors import AwsError
from spendwatch.core.ledger import from_item, rate_pk, record_key, record_pk, rollup_deltas, rollup_pk, state_key, to_item
from spendwatch.core.metering import CostRecord
from spendwatch.core.timestamps import format_utc, parse_utc

IAM_ACTIONS = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
)
WRITES_KEYS = (
    ("Ledger.write", "REC#"),
    ("Ledger.write", "ROLLUP#"),
    ("Ledger._transact", "REC#"),
    ("Ledger._transact", "ROLLUP#"),
    ("Ledger._move_state", "STATE#meter#"),
    ("Ledger.mark_sent", "SENT#"),
    ("Ledger.claim", "SENT#"),
    ("Ledger.settle_claim", "SENT#"),
    ("Ledger.save_rates", "RATE#"),
)
MAX_ACTIONS = 100  # TransactWriteItems' limit
SENT, CLAIMED, FAILED = "sent", "claimed", "failed"
CLAIM_TIMEOUT = timedelta(hours=1)  # a claim older than this, never settled, is taken over


@dataclass(frozen=True)
class MeterProgress:
    first_start: datetime | None
    """Where the ledger begins: the first interval the scheduled meter metered."""
    last_end: datetime | None
    """Everything before this is metered."""
    settled_until: datetime | None
    """Everything before this has been through the daily settle pass."""


@dataclass(frozen=True)
class WriteResult:
    records: list[CostRecord]
    """The records this call wrote (not those already in the ledger)."""
    existing: int

    @property
    def written(self) -> int:
        return len(self.records)


# A transaction cancelled for these reasons wrote nothing and may succeed if tried again.
RETRYABLE_CANCELLATIONS = frozenset(
    {"ThrottlingError", "TransactionConflict", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)
CANCELLED_ATTEMPTS = 8


class Ledger:
    def __init__(self, client: Any, table_name: str, retry: RetryPolicy = DEFAULT_RETRY) -> None:
        self._client = client
        self._table = table_name
        self._retry = retry

    def memory(self) -> MeterMemory:
        """The meter's memory (snapshot, last known prices), in the same table."""
        return MeterMemory(self._client, self._table, self._retry)

    # -- writing ----------------------------------------------------------------------

    def write(self, records: Iterable[CostRecord]) -> WriteResult:
        """Write records once each; records already in the ledger are left as they are. A
        transaction cancelled by throttling or a conflicting write is tried again (those
        only, with backoff); one cancelled because a record exists drops that record."""
        pending = list(records)
        written: list[CostRecord] = []
        existing = 0
        cancelled = 0
        while pending:
            batch, rollups = self._batch(pending)
            try:
                self._transact(batch, rollups)
            except AwsError as exc:
                if exc.code != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
                present = {i for i, code in enumerate(reasons[: len(batch)]) if code == "ConditionalCheckFailed"}
                if present:
                    existing += len(present)
                    keep = [r for i, r in enumerate(batch) if i not in present]
                    pending = keep + pending[len(batch) :]
                    continue
                cancelled += 1
                if not set(reasons) - {"None"} <= RETRYABLE_CANCELLATIONS or cancelled >= CANCELLED_ATTEMPTS:
                    raise
                self._retry.backoff("TransactWriteItems", cancelled, exc)
                continue
            written.extend(batch)
            pending = pending[len(batch) :]
        return WriteResult(written, existing)

    @staticmethod
    def _batch(pending: list[CostRecord]) -> tuple[list[CostRecord], dict[tuple[str, str], Decimal]]:
        """As many records as fit one transaction with the (merged) rollups they move."""
        batch: list[CostRecord] = []
        rollups: dict[tuple[str, str], Decimal] = {}
        for record in pending:
            deltas = rollup_deltas(record)
            if len(batch) + 1 + len(set(rollups) | set(deltas)) > MAX_ACTIONS:
                break
            batch.append(record)
            for key, value in deltas.items():
                rollups[key] = rollups.get(key, Decimal(0)) + value
        return batch, rollups

    def _transact(self, batch: list[CostRecord], rollups: dict[tuple[str, str], Decimal]) -> None:
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _dump(to_item(record)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for record in batch
        ]
        counts: dict[tuple[str, str], int] = {}
        for record in batch:
            for key in rollup_deltas(record):
                counts[key] = counts.get(key, 0) + 1
        for (pk, sk), cost in rollups.items():
            actions.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": _dump({"pk": pk, "sk": sk}),
                        "UpdateExpression": "ADD cost_usd :cost, #records :n SET #type = :type",
                        "ExpressionAttributeNames": {"#records": "records", "#type": "type"},
                        "ExpressionAttributeValues": _dump({":cost": cost, ":n": counts[(pk, sk)], ":type": "rollup"}),
                    }
                }
            )
        token = hashlib.sha256("|".join("#".join(record_key(r)) for r in batch).encode()).hexdigest()[:36]
        self._retry.call("TransactWriteItems", self._client.transact_write_items, TransactItems=actions, ClientRequestToken=token)

    # -- reading ------------------------------------------------------------------------

    def records(self, region: str, start: datetime, end: datetime) -> Iterator[CostRecord]:
        """Records whose interval starts in ``[start, end)``: one Query per day partition."""
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        while day < end:
            values = {":pk": record_pk(region, day), ":a": format_utc(start), ":b": format_utc(end)}
            for item in self._query("pk = :pk AND sk BETWEEN :a AND :b", values):
                yield from_item(item)
            day += timedelta(days=1)

    def rollups(self, region: str, month: str, by: str) -> dict[str, Decimal]:
        """The month's totals per value of ``by`` (``team``, ..., or ``total``)."""
        return {item["sk"]: Decimal(item["cost_usd"]) for item in self._query("pk = :pk", {":pk": rollup_pk(region, month, by)})}

    # -- effective rates learned from reconciled bills --------------------------------------

    def learned_rates(self, place: str) -> tuple[LearnedRate, ...]:
        """Every month's learned rates of ``place`` (one Query: a few items per month)."""
        return tuple(
            LearnedRate(
                place=place,
                month=item["month"],
                instance_type=item["instance_type"],
                rate=Decimal(item["effective_rate"]),
                billed_usd=Decimal(item["billed_usd"]),
                list_usd=Decimal(item["list_usd"]),
                source=item["source"],
            )
            for item in self._query("pk = :pk", {":pk": rate_pk(place)})
        )

    def save_rates(self, rates: Iterable[LearnedRate], reconciled_at: datetime) -> int:
        """Store learned rates (a month reconciled again replaces its rates)."""
        count = 0
        for rate in rates:
            item = {
                "pk": rate_pk(rate.place),
                "sk": f"{rate.month}#{rate.instance_type}",
                "type": "effective-rate",
                "month": rate.month,
                "instance_type": rate.instance_type,
                "effective_rate": rate.rate,
                "billed_usd": rate.billed_usd,
                "list_usd": rate.list_usd,
                "source": rate.source,
                "reconciled_at": format_utc(reconciled_at),
            }
            self._retry.call("PutItem", self._client.put_item, TableName=self._table, Item=_dump(item))
            count += 1
        return count

    def _query(self, condition: str, values: dict[str, Any]) -> Iterator[dict[str, Any]]:
        for item in query_items(self._client, self._retry, self._table, condition, _dump(values)):
            yield _load(item)

    # -- notifications already sent ------------------------------------------------------

    def sent(self, pk: str) -> set[str]:
        """The notifications of ``pk`` that went out (not those only claimed)."""
        return {item["sk"] for item in self._query("pk = :pk", {":pk": pk}) if item.get("status", SENT) == SENT}

    def mark_sent(self, pk: str, sk: str, expires_at: int) -> bool:
        item = _dump({"pk": pk, "sk": sk, "type": "sent", "status": SENT, "expires_at": expires_at})
        return put_if_absent(self._client, self._retry, self._table, item)

    def claim(self, pk: str, sk: str, now: datetime, expires_at: int) -> str | None:
        """Claim a notification before publishing it: the claim's id when this run may
        publish, None when it was sent or another run holds a fresh claim. A claim left by a
        run that failed for certain, or older than ``CLAIM_TIMEOUT`` (a crash, an answer that
        never came), can be taken over: at most one publish per claim, none lost for good."""
        claim_id = uuid.uuid4().hex  # this attempt's own: a replayed run never shares it
        item: dict[str, Any] = {"pk": pk, "sk": sk, "type": "sent", "status": CLAIMED, "claim_id": claim_id}
        item |= {"claimed_at": format_utc(now), "expires_at": expires_at}
        try:
            self._retry.call(
                "PutItem",
                self._client.put_item,
                TableName=self._table,
                Item=_dump(item),
                ConditionExpression="attribute_not_exists(pk) OR #s = :failed OR (#s = :claimed AND claimed_at < :stale)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=_dump(
                    {":failed": FAILED, ":claimed": CLAIMED, ":stale": format_utc(now - CLAIM_TIMEOUT)}
                ),
            )
        except AwsError as exc:
            if exc.code != "ConditionalCheckFailedException":
                raise
            # Our own write may have landed and its reply been lost: then the claim is ours.
            held = list(self._query("pk = :pk AND sk = :sk", {":pk": pk, ":sk": sk}))
            return claim_id if held and held[0].get("claim_id") == claim_id else None
        return claim_id

    def settle_claim(self, pk: str, sk: str, claim_id: str, status: str, expires_at: int, message_id: str = "") -> None:
        """Record what became of a claimed notification: ``SENT`` (with SNS's message id) or
        ``FAILED`` (certainly not sent: the next run may claim it again)."""
        item: dict[str, Any] = {"pk": pk, "sk": sk, "type": "sent", "status": status, "claim_id": claim_id}
        item |= {"message_id": message_id, "expires_at": expires_at}
        self._retry.call(
            "PutItem",
            self._client.put_item,
            TableName=self._table,
            Item=_dump(item),
            ConditionExpression="claim_id = :id",
            ExpressionAttributeValues=_dump({":id": claim_id}),
        )

    # -- the meter's progress -------------------------------------------------------------

    def meter_state(self, region: str) -> datetime | None:
        return self.meter_progress(region).last_end

    def meter_progress(self, region: str) -> MeterProgress:
        pk, sk = state_key(region)
        item = self._retry.call(
            "GetItem", self._client.get_item, TableName=self._table, Key=_dump({"pk": pk, "sk": sk}), ConsistentRead=True
        ).get("Item")
        loaded = _load(item) if item else {}

        def when(name: str) -> datetime | None:
            return parse_utc(loaded[name], f"meter state {name}") if name in loaded else None

        return MeterProgress(when("first_start"), when("last_end"), when("settled_until"))

    def advance(self, region: str, end: datetime, start: datetime | None = None) -> bool:
        """Record that everything before ``end`` is metered (and, the first time, that the
        ledger starts at ``start``); never moves backwards."""
        return self._move_state(
            region,
            "SET last_end = :end, #type = :type, first_start = if_not_exists(first_start, :start)",
            "attribute_not_exists(last_end) OR last_end < :end",
            {":end": format_utc(end), ":type": "meter-state", ":start": format_utc(start or end)},
            {"#type": "type"},
        )

    def mark_settled(self, region: str, until: datetime) -> bool:
        """Record that every day before ``until`` is settled; never moves backwards."""
        return self._move_state(
            region,
            "SET settled_until = :until",
            "attribute_not_exists(settled_until) OR settled_until < :until",
            {":until": format_utc(until)},
        )

    def _move_state(
        self, region: str, update: str, condition: str, values: dict[str, Any], names: dict[str, str] | None = None
    ) -> bool:
        """One conditional update of the meter's state item; False when the condition (never
        backwards) did not hold."""
        pk, sk = state_key(region)
        try:
            self._retry.call(
                "UpdateItem",
                self._client.update_item,
                TableName=self._table,
                Key=_dump({"pk": pk, "sk": sk}),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=_dump(values),
                **({"ExpressionAttributeNames": names} if names else {}),
            )
        except AwsError as exc:
            if exc.code == "ConditionalCheckFailedException":
                return False
            raise
        return True
