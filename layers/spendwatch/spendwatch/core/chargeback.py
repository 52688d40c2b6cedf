"""Chargeback: cost records (or monthly rollups) grouped by a key. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from spendwatch.core.ledger import GROUP_KEYS, group_value
from spendwatch.core.metering import CostRecord
from spendwatch.core.money import format_money
from spendwatch.core.timestamps import format_utc


@dataclass(frozen=True)
class Chargeback:
    start: datetime
    end: datetime
    by: str
    groups: tuple[tuple[str, Decimal], ...]

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


def from_records(records: Iterable[CostRecord], by: str, start: datetime, end: datetime) -> Chargeback:
    if by not in GROUP_KEYS:
        raise ValueError(by)
    totals: dict[str, Decimal] = {}
    for record in records:
        key = group_value(record, by)
        totals[key] = totals.get(key, Decimal(0)) + record.cost_usd
    return Chargeback(start, end, by, _sorted(totals))


def from_rollups(rollups: Mapping[str, Decimal], by: str, start: datetime, end: datetime) -> Chargeback:
    return Chargeback(start, end, by, _sorted(rollups))
