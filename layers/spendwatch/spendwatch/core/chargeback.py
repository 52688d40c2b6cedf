"""Chargeback: cost records (or monthly rollups) grouped by a key. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from spendwatch.core.ledger import GROUP_KEYS, UNTAGGED, group_value
from spendwatch.core.metering import CostRecord, RecordKind
from spendwatch.core.money import format_money
from spendwatch.core.timestamps import format_utc

UNALLOCATED = "(unallocated capacity)"
"""With --by model or component: GPU capacity of an endpoint that no inference component
held (records of kind ``unallocated``). ``(untagged)`` stays for records whose key is missing."""
RESOURCE_KEYS = ("component", "model")
PLACE_KEYS = ("account", "region")
"""Keys of an organization's ledger: each account region's records are stored apart, so
these group whole account regions (no rollup of their own is needed)."""
BY_KEYS = GROUP_KEYS + PLACE_KEYS


@dataclass(frozen=True)
class Chargeback:
    start: datetime
    end: datetime
    by: str
    groups: tuple[tuple[str, Decimal], ...]
    cost: str = "list"
    """``list`` (on-demand prices) or ``effective`` (effective rates where known: ``core.effective``)."""
    at_list: Decimal = Decimal(0)
    """With ``cost = effective``: the part of the total counted at list price, no rate being known."""

    @property
    def total(self) -> Decimal:
        return sum((cost for _, cost in self.groups), Decimal(0))

    def to_json(self) -> dict[str, Any]:
        return {
            "start": format_utc(self.start),
            "end": format_utc(self.end),
            "by": self.by,
            "groups": [{"key": key, "cost_usd": format_money(cost)} for key, cost in self.groups],
            "total_cost_usd": format_money(self.total),
            "cost": self.cost,
            **({"at_list_price_usd": format_money(self.at_list)} if self.cost == "effective" else {}),
        }

    def to_csv_rows(self) -> list[list[str]]:
        return [
            [self.by, "cost_usd"],
            *([spreadsheet_safe(key), format_money(cost)] for key, cost in self.groups),
            ["TOTAL", format_money(self.total)],
        ]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """A text cell a spreadsheet will not run as a formula (OWASP's CSV injection advice):
    tag values are user-controlled, so one that begins like a formula gets a leading '."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def _sorted(totals: Mapping[str, Decimal]) -> tuple[tuple[str, Decimal], ...]:
    return tuple(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))


def is_unallocated(record: CostRecord, by: str) -> bool:
    """A record shown as ``(unallocated capacity)`` rather than ``(untagged)`` for ``by``."""
    return by in RESOURCE_KEYS and record.kind is RecordKind.UNALLOCATED and record.key(by) is None


def shown_group(record: CostRecord, by: str) -> str:
    """The group a record is shown under: the stored rollup key (``group_value``), except that
    unallocated capacity is named for what it is. Stored keys do not change."""
    return UNALLOCATED if is_unallocated(record, by) else group_value(record, by)


def list_cost(record: CostRecord) -> Decimal:
    return record.cost_usd


def from_records(
    records: Iterable[CostRecord],
    by: str,
    start: datetime,
    end: datetime,
    cost_of: Callable[[CostRecord], Decimal] = list_cost,
) -> Chargeback:
    """Totals by ``by``; ``cost_of`` says what a record counts for (list cost by default;
    ``core.effective.coster`` for effective cost)."""
    if by not in GROUP_KEYS:
        raise ValueError(by)
    totals: dict[str, Decimal] = {}
    for record in records:
        key = shown_group(record, by)
        totals[key] = totals.get(key, Decimal(0)) + cost_of(record)
    return Chargeback(start, end, by, _sorted(totals))


def as_effective(result: Chargeback, at_list: Decimal) -> Chargeback:
    return replace(result, cost="effective", at_list=at_list)


def from_rollups(
    rollups: Mapping[str, Decimal], by: str, start: datetime, end: datetime, unallocated: Decimal | None = None
) -> Chargeback:
    """A month from its rollups. The stored ``(untagged)`` rollup of ``component`` and
    ``model`` also holds unallocated capacity: given that part (summed from the month's
    records), it is split out exactly, so a month agrees with the same range read from records."""
    totals = dict(rollups)
    if unallocated and by in RESOURCE_KEYS:
        rest = totals.get(UNTAGGED, Decimal(0)) - unallocated
        totals.pop(UNTAGGED, None)
        totals[UNALLOCATED] = unallocated
        if rest:
            totals[UNTAGGED] = rest
    return Chargeback(start, end, by, _sorted(totals))


def merge(parts: Iterable[tuple[str, Chargeback]], by: str, start: datetime, end: datetime) -> Chargeback:
    """One chargeback of several account regions' (``(group of the place, its chargeback)``):
    by account or region, each place's total is its group's; by anything else, groups of
    the same key add up."""
    totals: dict[str, Decimal] = {}
    basis, at_list = "list", Decimal(0)
    for place_key, part in parts:
        for key, cost in ([(place_key, part.total)] if by in PLACE_KEYS else part.groups):
            totals[key] = totals.get(key, Decimal(0)) + cost
        basis = "effective" if part.cost == "effective" else basis
        at_list += part.at_list if part.cost == "effective" else part.total
    return Chargeback(start, end, by, _sorted(totals), basis, at_list if basis == "effective" else Decimal(0))
