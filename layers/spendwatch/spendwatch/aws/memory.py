"""The meter's memory in the spendwatch table: the inventory snapshot it saw last run, and
the last known price of each instance type.

* snapshot parts: ``pk = SNAPSHOT#<place>#<sha256>``, ``sk = <part>``: gzip JSON keyed by its
  content's hash, written first; then the head ``pk = STATE#snapshot#<place>``, ``sk = STATE``
  naming the hash. A reader follows the head and verifies the hash, so a crash between parts
  and head leaves the previous snapshot whole, and never a mix of two.
* prices: ``pk = PRICE#<region>``, ``sk = <instance type>``: the last price a live source gave
  (usd_per_hour, source, as_of), used when that source fails.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from spendwatch.aws.retry import DEFAULT_RETRY, RetryPolicy
from spendwatch.aws.table import query_items
from spendwatch.core.errors import AwsError
from spendwatch.core.snapshot import Snapshot, from_document, to_document
from spendwatch.core.timestamps import format_utc, parse_utc

IAM_ACTIONS = ("dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query")
WRITES_KEYS = (
    ("MeterMemory.save_snapshot", "SNAPSHOT#"),
    ("MeterMemory.save_snapshot", "STATE#snapshot#"),
    ("MeterMemory.remember_price", "PRICE#"),
)
PART_BYTES = 350_000
PARTS_TTL = timedelta(days=7)


@dataclass(frozen=True)
class KnownPrice:
    usd_per_hour: Decimal
    source: str
    as_of: datetime


class MeterMemory:
    def __init__(self, client: Any, table_name: str, retry: RetryPolicy = DEFAULT_RETRY, part_bytes: int = PART_BYTES) -> None:
        self._client = client
        self._table = table_name
        self._retry = retry
        self._part_bytes = part_bytes

    # -- the inventory snapshot -------------------------------------------------------------

    def snapshot(self, place: str) -> Snapshot | None:
        """The last snapshot of ``place`` (a region, or ``<account>:<region>``: ``Inventory.place``)."""
        region = place
        head = self._get(f"STATE#snapshot#{region}", "STATE")
        if head is None:
            return None
        digest = head["hash"]["S"]
        blob = b"".join(bytes(i["data"]["B"]) for i in self._query(f"SNAPSHOT#{region}#{digest}"))
        if hashlib.sha256(blob).hexdigest() != digest:
            raise AwsError("GetItem", "SnapshotCorrupt", f"the meter's inventory snapshot of {region} does not match its hash")
        return from_document(json.loads(gzip.decompress(blob)))

    def save_snapshot(self, snapshot: Snapshot) -> None:
        region = snapshot.inventory.place
        blob = gzip.compress(json.dumps(to_document(snapshot), separators=(",", ":"), sort_keys=True).encode(), mtime=0)
        digest = hashlib.sha256(blob).hexdigest()
        expires = {"N": str(int((snapshot.taken_at + PARTS_TTL).timestamp()))}
        size = self._part_bytes
        for index in range(0, max(len(blob), 1), size):
            item = {
                "pk": {"S": f"SNAPSHOT#{region}#{digest}"},
                "sk": {"S": f"{index // size:05d}"},
                "data": {"B": blob[index : index + size]},
                "expires_at": expires,
            }
            self._retry.call("PutItem", self._client.put_item, TableName=self._table, Item=item)
        head = {
            "pk": {"S": f"STATE#snapshot#{region}"},
            "sk": {"S": "STATE"},
            "type": {"S": "meter-snapshot"},
            "hash": {"S": digest},
            "taken_at": {"S": format_utc(snapshot.taken_at)},
        }
        try:
            self._retry.call(
                "PutItem",
                self._client.put_item,
                TableName=self._table,
                Item=head,
                ConditionExpression="attribute_not_exists(taken_at) OR taken_at <= :t",
                ExpressionAttributeValues={":t": head["taken_at"]},
            )
        except AwsError as exc:
            if exc.code != "ConditionalCheckFailedException":
                raise  # else a newer run's snapshot stands: never go back in time

    # -- last known prices ----------------------------------------------------------------------

    def known_prices(self, region: str) -> dict[str, KnownPrice]:
        return {
            item["sk"]["S"]: KnownPrice(
                Decimal(item["usd_per_hour"]["S"]), item["source"]["S"], parse_utc(item["as_of"]["S"], "price as_of")
            )
            for item in self._query(f"PRICE#{region}")
        }

    def remember_price(self, region: str, instance_type: str, price: KnownPrice) -> None:
        item = {
            "pk": {"S": f"PRICE#{region}"},
            "sk": {"S": instance_type},
            "type": {"S": "known-price"},
            "usd_per_hour": {"S": str(price.usd_per_hour)},
            "source": {"S": price.source},
            "as_of": {"S": format_utc(price.as_of)},
        }
        self._retry.call("PutItem", self._client.put_item, TableName=self._table, Item=item)

    # -- reading ----------------------------------------------------------------------------------

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._retry.call(
            "GetItem", self._client.get_item, TableName=self._table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
        ).get("Item")
        return item

    def _query(self, pk: str) -> list[dict[str, Any]]:
        return list(query_items(self._client, self._retry, self._table, "pk = :pk", {":pk": {"S": pk}}, consistent=True))
