"""DynamoDB store of scan reports, in the spendwatch table (item layout in README).

A report is one item: ``pk = REPORT#idle-scan#<region>``, ``sk = <scanned_at>``, a summary
readable at a glance and the whole report as gzip-compressed JSON. A report too large for
one item (400 KB) is split into part items (``pk = <head pk>#<sk>#PART``, ``sk = <sha256 of
the whole>#<n>``) written *before* the head item, which names the hash: a reader takes only
the parts of that hash and verifies it, so a crash between parts and head followed by a
retry with other content can never mix two reports. Every write is conditional: storing
the same scan twice (a retried schedule) changes nothing.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from spendwatch.aws.retry import DEFAULT_RETRY, RetryPolicy
from spendwatch.aws.table import put_if_absent, query_items
from spendwatch.core.errors import AwsError
from spendwatch.core.timestamps import format_utc

IAM_ACTIONS = ("dynamodb:PutItem", "dynamodb:Query", "dynamodb:GetItem")
WRITES_KEYS = (("ReportStore._put_once", "REPORT#idle-scan#"),)
PART_BYTES = 350_000
RETENTION = timedelta(days=400)
KIND = "idle-scan"


@dataclass(frozen=True)
class StoredReport:
    key: tuple[str, str]
    created: bool
    """False when this scan had already been stored (a replay)."""
    parts: int


def report_pk(region: str) -> str:
    return f"REPORT#{KIND}#{region}"


class ReportStore:
    def __init__(self, client: Any, table_name: str, retry: RetryPolicy = DEFAULT_RETRY, part_bytes: int = PART_BYTES) -> None:
        self._client = client
        self._table = table_name
        self._retry = retry
        self._part_bytes = part_bytes

    def put(self, report: dict[str, Any], scanned_at: datetime, region: str) -> StoredReport:
        pk, sk = report_pk(region), format_utc(scanned_at)
        blob = gzip.compress(json.dumps(report, separators=(",", ":")).encode(), mtime=0)
        digest = hashlib.sha256(blob).hexdigest()
        size = self._part_bytes
        chunks = [blob[i : i + size] for i in range(0, len(blob), size)] or [b""]
        expires = int((scanned_at + RETENTION).timestamp())
        for index, chunk in enumerate(chunks[1:], start=1):
            self._put_once(
                {
                    "pk": {"S": f"{pk}#{sk}#PART"},
                    "sk": {"S": f"{digest}#{index:05d}"},
                    "data": {"B": chunk},
                    "expires_at": {"N": str(expires)},
                }
            )
        summary = report.get("summary", {})
        created = self._put_once(
            {
                "pk": {"S": pk},
                "sk": {"S": sk},
                "kind": {"S": KIND},
                "region": {"S": region},
                "scanned_at": {"S": sk},
                "lookback_hours": {"N": str(report.get("lookback_hours", 0))},
                "idle_endpoints": {"N": str(summary.get("idle_endpoints", 0))},
                "idle_inference_components": {"N": str(summary.get("idle_inference_components", 0))},
                "idle_hourly_cost_usd": {"S": str(summary.get("idle_hourly_cost_usd", "0"))},
                "parts": {"N": str(len(chunks))},
                "hash": {"S": digest},
                "report_gz": {"B": chunks[0]},
                "expires_at": {"N": str(expires)},
            }
        )
        return StoredReport((pk, sk), created, len(chunks))

    @property
    def table_name(self) -> str:
        return self._table

    def scanned_before(self, region: str, scanned_at: str) -> str | None:
        """The scan instant of the report stored just before ``scanned_at`` (None: none is)."""
        page = self._retry.call(
            "Query",
            self._client.query,
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk < :sk",
            ExpressionAttributeValues={":pk": {"S": report_pk(region)}, ":sk": {"S": scanned_at}},
            ProjectionExpression="sk",
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = page.get("Items", [])
        return str(items[0]["sk"]["S"]) if items else None

    def latest(self, region: str) -> dict[str, Any] | None:
        """The newest stored report of a region, whole, or None."""
        page = self._retry.call(
            "Query",
            self._client.query,
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": report_pk(region)}},
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = page.get("Items", [])
        return self._assemble(items[0]) if items else None

    def _assemble(self, head: dict[str, Any]) -> dict[str, Any]:
        blob = bytes(head["report_gz"]["B"])
        parts = int(head["parts"]["N"])
        digest = head.get("hash", {}).get("S")
        if parts > 1:
            pk = f"{head['pk']['S']}#{head['sk']['S']}#PART"
            condition = "pk = :pk AND begins_with(sk, :hash)" if digest else "pk = :pk"
            values = {":pk": {"S": pk}} | ({":hash": {"S": f"{digest}#"}} if digest else {})
            parts_found = query_items(self._client, self._retry, self._table, condition, values, consistent=True)
            blob += b"".join(bytes(item["data"]["B"]) for item in parts_found)
        if digest is not None and hashlib.sha256(blob).hexdigest() != digest:
            raise AwsError("Query", "ReportCorrupt", f"report {head['sk']['S']}: its parts do not match its hash")
        loaded: dict[str, Any] = json.loads(gzip.decompress(blob))
        return loaded

    def _put_once(self, item: dict[str, Any]) -> bool:
        return put_if_absent(self._client, self._retry, self._table, item)
