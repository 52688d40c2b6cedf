"""The chargeback ledger's item layout (pure): how cost records, monthly rollups and the
meter's progress are keyed in the one spendwatch table. The DynamoDB adapter is
``spendwatch.aws.ledger``; README documents the layout and access patterns.

Every ``<place>`` below is the region for the account spendwatch runs in (as it always was),
and ``<account id>:<region>`` for another account of an organization (``inventory.place``).

* record:  ``pk = REC#<place>#<YYYY-MM-DD>``, ``sk = <interval start>#<endpoint>#<variant>#<kind>#<component|->``
  (one item per resource and interval: the key is what makes a replay harmless);
  ``gsi1pk = RES#<region>#<endpoint>#<component|kind>``, ``gsi1sk = <interval start>`` for one
  resource's history.
* rollup:  ``pk = ROLLUP#<region>#<YYYY-MM>#<by>``, ``sk = <value>``: the month's total per team,
  cost-center, project, endpoint, component, model (and ``total``), moved in the same
  transaction as the record it adds, so a month by team is one Query of a few items.
* sent:    ``pk = SENT#<region>#idle#<report>`` or ``SENT#<region>#budget#<YYYY-MM>``, ``sk = <team>`` or
  ``<scope>#<key>#<threshold>``: a notification already sent (each threshold alerts once a month).
* state:   ``pk = STATE#meter#<region>``, ``sk = STATE``: the end of the last metered interval.
* action:  ``pk = ACTION#<place>``, ``sk = <resource type>#<name>#<action>#<idle_since | created:<time>>``:
  one remediation action (``core.remediation``), written ``planned`` before it is taken, each later
  status appended to its history, with what restore needs (``aws.actions``).
* rate:    ``pk = RATE#<place>``, ``sk = <YYYY-MM>#<instance type>``: the effective rate (billed /
  list) learned from that month's reconciled bill (``core.effective``); reconciling the
  month's bill again replaces it (it is derived knowledge, not a charge).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from spendwatch.core.metering import Basis, CostRecord, RecordKind
from spendwatch.core.timestamps import format_utc, parse_utc

UNTAGGED = "(untagged)"
GROUP_KEYS = ("team", "cost-center", "project", "endpoint", "component", "model")
TOTAL = "total"

# The table, as template.yaml defines it (a test keeps the two equal). The emulated AWS
# creates it from here for --fleet; tests create it from template.yaml.
TABLE_DEFINITION: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
        {"AttributeName": "gsi1pk", "AttributeType": "S"},
        {"AttributeName": "gsi1sk", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "gsi1",
            "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"}, {"AttributeName": "gsi1sk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
    "BillingMode": "PAY_PER_REQUEST",
}


def record_pk(place: str, when: datetime) -> str:
    return f"REC#{place}#{when:%Y-%m-%d}"


def record_key(record: CostRecord) -> tuple[str, str]:
    return (
        record_pk(record.place, record.interval_start),
        f"{format_utc(record.interval_start)}#{record.endpoint_name}#{record.entry}",
    )


def rollup_pk(place: str, month: str, by: str) -> str:
    return f"ROLLUP#{place}#{month}#{by}"


def rate_pk(place: str) -> str:
    return f"RATE#{place}"


def state_key(region: str) -> tuple[str, str]:
    return f"STATE#meter#{region}", "STATE"


def sent_key(region: str, state_key: tuple[str, ...]) -> tuple[str, str]:
    """Where "this notification was sent" is remembered: ``SENT#<region>#idle#<report>`` /
    ``SENT#<region>#budget#<month>``, one item per team or budget threshold."""
    return f"SENT#{region}#{state_key[0]}#{state_key[1]}", "#".join(state_key[2:])


def group_value(record: CostRecord, by: str) -> str:
    return record.key(by) or UNTAGGED


def rollup_deltas(record: CostRecord) -> dict[tuple[str, str], Decimal]:
    """The rollup items a record adds its cost to: one per grouping key, and the total."""
    month = f"{record.interval_start:%Y-%m}"
    deltas = {(rollup_pk(record.place, month, by), group_value(record, by)): record.cost_usd for by in GROUP_KEYS}
    deltas[(rollup_pk(record.place, month, TOTAL), TOTAL)] = record.cost_usd
    return deltas


def to_item(record: CostRecord) -> dict[str, Any]:
    """A record as a DynamoDB item (plain Python values; the adapter serializes)."""
    pk, sk = record_key(record)
    item: dict[str, Any] = {
        "pk": pk,
        "sk": sk,
        "gsi1pk": f"RES#{record.place}#{record.endpoint_name}#{record.inference_component_name or record.kind.value}",
        "gsi1sk": format_utc(record.interval_start),
        "type": "cost-record",
        "region": record.region,
        "interval_start": format_utc(record.interval_start),
        "interval_end": format_utc(record.interval_end),
        "endpoint_name": record.endpoint_name,
        "variant_name": record.variant_name,
        "kind": record.kind.value,
        "instance_type": record.instance_type,
        "gpu_seconds": record.gpu_seconds,
        "core_seconds": record.core_seconds,
        "instance_seconds": record.instance_seconds,
        "cost_usd": record.cost_usd,
        "basis": record.basis.value,
        "price_usd_per_hour": record.price_usd_per_hour,
        "price_source": record.price_source,
        "tags": dict(record.tags),
    }
    if record.account_id:
        item["account_id"] = record.account_id
    if record.correction:
        item["correction"] = record.correction
        item["charge_class"] = "correction"
    if record.inference_component_name:
        item["inference_component_name"] = record.inference_component_name
    if record.model_name:
        item["model_name"] = record.model_name
    return item


def from_item(item: dict[str, Any]) -> CostRecord:
    return CostRecord(
        region=item["region"],
        interval_start=parse_utc(item["interval_start"], "interval_start"),
        interval_end=parse_utc(item["interval_end"], "interval_end"),
        endpoint_name=item["endpoint_name"],
        variant_name=item["variant_name"],
        kind=RecordKind(item["kind"]),
        inference_component_name=item.get("inference_component_name"),
        model_name=item.get("model_name"),
        instance_type=item["instance_type"],
        gpu_seconds=Decimal(item["gpu_seconds"]),
        core_seconds=Decimal(item["core_seconds"]),
        instance_seconds=Decimal(item["instance_seconds"]),
        cost_usd=Decimal(item["cost_usd"]),
        basis=Basis(item["basis"]),
        price_usd_per_hour=Decimal(item["price_usd_per_hour"]),
        price_source=item["price_source"],
        tags=dict(item.get("tags", {})),
        correction=int(item.get("correction", 0)),
        account_id=item.get("account_id", ""),
    )
