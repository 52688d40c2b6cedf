"""Reconciliation: the ledger against the account's own bill, per endpoint per day. Pure.

The bill says what each endpoint's hosting cost (``billed``: what is paid, after Savings Plans
and reservations) and what it would have cost on demand (``listed``); the ledger says what
spendwatch metered at list price. For each endpoint and UTC day both have:

* ``difference`` = the bill's list cost - the metered list cost (the bill's paid cost when the
  bill has no list cost): metering that disagrees with AWS beyond the tolerance is reported;
* ``effective rate`` = billed / list: a discount, not a metering error. The rate of each
  instance type, over the days both sides have, is learned (``core.effective``) and reported
  when it differs from 1 beyond the tolerance.

An endpoint the bill has and the ledger never saw is reported once, with its days; a day the
bill has and the ledger lacks (or the reverse) is reported by day. Endpoint names are compared
as the ARN writes them (lower case). Only days the ledger had metered whole are compared: the
hours after its last metered interval are not "missing", only not yet metered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from spendwatch.core.effective import LearnedRate, learn_rates
from spendwatch.core.inventory import place
from spendwatch.core.money import format_money
from spendwatch.core.timestamps import format_utc

CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class BillDay:
    """A bill's hosting cost of one endpoint on one UTC day, for one usage type."""

    account_id: str
    region: str
    endpoint: str  # lower case, as in the ARN
    day: date
    instance_type: str
    billed: Decimal
    listed: Decimal | None
    lines: int

    @classmethod
    def of(
        cls, resource_id: str, day: date, usage_type: str, billed: Decimal, listed: Decimal | None, lines: int
    ) -> BillDay:
        """From an endpoint ARN (``arn:aws:sagemaker:<region>:<account>:endpoint/<name>``) and a
        usage type (``USE1-Host:ml.g6.12xlarge``)."""
        parts = resource_id.split(":", 5)
        region, account = (parts[3], parts[4]) if len(parts) == 6 else ("", "")
        name = parts[5].split("/", 1)[1] if len(parts) == 6 and "/" in parts[5] else resource_id
        instance_type = usage_type.split("Host:", 1)[1] if "Host:" in usage_type else usage_type
        return cls(account, region, name.lower(), day, instance_type, billed, listed, lines)


@dataclass(frozen=True)
class Bill:
    source: str
    format: str  # focus-1.2 | cur-2.0
    days: tuple[BillDay, ...]
    lines_read: int = 0
    """The hosting lines read (the bill's other lines are not counted)."""


@dataclass(frozen=True)
class MeteredDay:
    """The ledger's list cost of one endpoint on one UTC day (records of every kind, corrections included)."""

    account_id: str
    region: str
    endpoint_name: str
    day: date
    instance_type: str
    listed: Decimal


@dataclass(frozen=True)
class DayComparison:
    account_id: str
    region: str
    endpoint_name: str
    day: date
    instance_type: str
    billed: Decimal | None
    bill_list: Decimal | None
    metered: Decimal | None
    status: str  # ok | difference | missing-in-ledger | missing-in-bill | unknown-endpoint

    @property
    def difference(self) -> Decimal | None:
        if self.metered is None or self.billed is None:
            return None
        return (self.bill_list if self.bill_list is not None else self.billed) - self.metered

    @property
    def rate(self) -> Decimal | None:
        base = self.bill_list if self.bill_list is not None else self.metered
        if self.billed is None or not base:
            return None
        return (self.billed / base).quantize(RATE_PLACES, rounding=ROUND_HALF_EVEN)

    def to_json(self) -> dict[str, Any]:
        def money(value: Decimal | None) -> str | None:
            return None if value is None else format_money(value)

        return {
            "date": self.day.isoformat(),
            "account_id": self.account_id,
            "region": self.region,
            "endpoint_name": self.endpoint_name,
            "instance_type": self.instance_type,
            "billed_usd": money(self.billed),
            "bill_list_usd": money(self.bill_list),
            "metered_list_usd": money(self.metered),
            "difference_usd": money(self.difference),
            "effective_rate": None if self.rate is None else str(self.rate),
            "status": self.status,
        }


@dataclass(frozen=True)
class Reconciliation:
    bill: Bill
    compared_until: datetime | None
    tolerance: Decimal
    days: tuple[DayComparison, ...]
    rates: tuple[LearnedRate, ...]
    findings: tuple[str, ...]
    skipped_days: int = 0
    """Bill days after the ledger's last metered interval (not compared)."""

    def total(self, attribute: str) -> Decimal:
        return sum((getattr(d, attribute) or Decimal(0) for d in self.days), Decimal(0))

    def to_json(self) -> dict[str, Any]:
        return {
            "bill": self.bill.source,
            "bill_format": self.bill.format,
            "bill_hosting_lines": self.bill.lines_read,
            "compared_until": format_utc(self.compared_until) if self.compared_until else None,
            "tolerance": str(self.tolerance),
            "days": [d.to_json() for d in self.days],
            "effective_rates": [r.to_json() for r in self.rates],
            "findings": list(self.findings),
            "totals": {
                "billed_usd": format_money(self.total("billed")),
                "bill_list_usd": format_money(self.total("bill_list")),
                "metered_list_usd": format_money(self.total("metered")),
            },
            "skipped_days": self.skipped_days,
        }


def _beyond(difference: Decimal, base: Decimal, tolerance: Decimal) -> bool:
    return abs(difference) > max(CENT, tolerance * abs(base))


def compare(
    bill: Bill,
    metered: list[MeteredDay],
    home_account: str,
    metered_until: datetime | None,
    tolerance: Decimal,
) -> Reconciliation:
    """Compare per endpoint per day. ``metered_until``: the end of the ledger's last metered
    interval (bill days ending after it are not compared); ``home_account``: the account of
    the ledger's home place (``account_id == ""``)."""
    last_day = metered_until.date() if metered_until is not None else None  # days before it are whole

    def whole(day: date) -> bool:
        return last_day is None or day < last_day

    bill_side: dict[tuple[str, str, str, date], list[BillDay]] = {}
    skipped = 0
    for line in bill.days:
        if not whole(line.day):
            skipped += 1
            continue
        bill_side.setdefault((line.account_id, line.region, line.endpoint, line.day), []).append(line)
    ledger_side: dict[tuple[str, str, str, date], MeteredDay] = {}
    names: dict[tuple[str, str, str], str] = {}
    for entry in metered:
        account = entry.account_id or home_account
        key = (account, entry.region, entry.endpoint_name.lower(), entry.day)
        names[key[:3]] = entry.endpoint_name
        if not whole(entry.day):
            continue
        known = ledger_side.get(key)
        listed = entry.listed + (known.listed if known else Decimal(0))
        ledger_side[key] = MeteredDay(account, entry.region, entry.endpoint_name, entry.day, entry.instance_type, listed)
    comparisons: list[DayComparison] = []
    findings: list[str] = []
    unknown: dict[tuple[str, str, str], list[DayComparison]] = {}
    rate_totals: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
    for key in sorted(set(bill_side) | set(ledger_side)):
        account, region, endpoint, day = key
        lines = bill_side.get(key, [])
        mine = ledger_side.get(key)
        billed = sum((line.billed for line in lines), Decimal(0)) if lines else None
        listed_parts = [line.listed for line in lines]
        bill_list = sum((v for v in listed_parts if v is not None), Decimal(0)) if lines and None not in listed_parts else None
        instance_type = lines[0].instance_type if lines else mine.instance_type if mine else ""
        name = names.get(key[:3], mine.endpoint_name if mine else endpoint)
        if mine is None:
            status = "unknown-endpoint" if key[:3] not in names else "missing-in-ledger"
        elif not lines:
            status = "missing-in-bill"
        else:
            status = "ok"
        row = DayComparison(account, region, name, day, instance_type, billed, bill_list, mine.listed if mine else None, status)
        if status == "ok":
            assert billed is not None
            assert mine is not None
            difference = row.difference or Decimal(0)
            if _beyond(difference, mine.listed, tolerance):
                row = DayComparison(account, region, name, day, instance_type, billed, bill_list, mine.listed, "difference")
                findings.append(
                    f"{name} ({account} {region}) on {day}: the bill's list cost is {format_money(bill_list or billed)}, "
                    f"spendwatch metered {format_money(mine.listed)} (difference {format_money(difference)})"
                )
            else:  # days both agree on teach the effective rate
                where = place("" if account == home_account else account, region)
                paid, base = rate_totals.get((where, instance_type), (Decimal(0), Decimal(0)))
                listed = bill_list if bill_list is not None else mine.listed
                rate_totals[(where, instance_type)] = (paid + billed, base + listed)
        elif status == "missing-in-ledger":
            paid_text = format_money(billed or Decimal(0))
            findings.append(f"{name} ({account} {region}) on {day}: billed {paid_text}, the ledger has no record")
        elif status == "missing-in-bill":
            metered_text = format_money(mine.listed if mine else Decimal(0))
            findings.append(f"{name} ({account} {region}) on {day}: metered {metered_text}, the bill has no line")
        if status == "unknown-endpoint":
            unknown.setdefault(key[:3], []).append(row)
        comparisons.append(row)
    for (account, region, endpoint), rows in sorted(unknown.items()):
        total = sum((r.billed or Decimal(0) for r in rows), Decimal(0))
        findings.append(
            f"{endpoint} ({account} {region}): billed {format_money(total)} over {len(rows)} day(s) "
            f"({rows[0].day} to {rows[-1].day}), an endpoint the ledger never saw"
        )
    month = _month_of(bill, comparisons)
    rates = learn_rates(rate_totals, month, f"{bill.format} {bill.source}")
    for rate in rates:
        if _beyond(rate.rate - 1, Decimal(1), tolerance):
            findings.append(
                f"{rate.instance_type} ({rate.place}): paid {format_money(rate.billed_usd)} for {format_money(rate.list_usd)} "
                f"at list price, an effective rate of {rate.rate} ({_pct(rate.rate)} of list)"
            )
    return Reconciliation(bill, metered_until, tolerance, tuple(comparisons), tuple(rates), tuple(findings), skipped)


def _pct(rate: Decimal) -> str:
    return f"{(rate * 100).quantize(Decimal('0.1'))} %"


def _month_of(bill: Bill, rows: list[DayComparison]) -> str:
    """The month the rates are learned for: the bill's latest compared day's."""
    days = [r.day for r in rows if r.status == "ok"] or [line.day for line in bill.days]
    return max(days).strftime("%Y-%m") if days else "0000-00"
