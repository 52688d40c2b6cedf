"""Effective cost: what the company really pays, beside the list (on-demand) cost. Pure.

With Savings Plans or reserved capacity an hour of ``ml.g6.12xlarge`` costs less than its
on-demand price. The ratio ``billed / list`` is the *effective rate* of an instance type in an
account region. It comes from one of two places, the first that knows it winning:

1. the price overrides (``"effective_rates": {"us-east-1": {"ml.g6.12xlarge": "0.70",
   "endpoint/genai-shared": "0.55"}, "*": {...}}``), a rate the platform team sets on purpose,
   per instance type or for one endpoint (which wins);
2. the last reconciled bill (``spendwatch reconcile``): the rate learned for a month applies to
   that month and every later one, until a newer bill is reconciled. Months before the first
   reconciled bill have no learned rate.

A record's effective cost is its list cost times the rate, rounded to the micro-dollar (half
even). Where no rate is known the effective cost is unknown (``None``): a figure asked for "by
effective cost" then falls back to list cost for that record, and says how much of it did.
Ledger records keep their list cost and are never rewritten; effective cost is derived when
read, so a newly learned rate applies to records already written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any

from spendwatch.core.errors import InputError
from spendwatch.core.metering import QUANTUM, CostRecord
from spendwatch.core.money import parse_money

ENDPOINT_KEY = "endpoint/"
"""An override keyed ``endpoint/<name>`` is that endpoint's rate (a reservation of its own, say)."""
MAX_RATE = Decimal(10)
"""A rate above this is a mistake (a bill ten times the list price is not a discount)."""


class CostBasis(StrEnum):
    LIST = "list"
    EFFECTIVE = "effective"


@dataclass(frozen=True)
class LearnedRate:
    """An effective rate learned from a reconciled bill for ``month``, for one instance type."""

    place: str
    month: str
    instance_type: str
    rate: Decimal
    billed_usd: Decimal
    list_usd: Decimal
    source: str

    def to_json(self) -> dict[str, Any]:
        return {
            "place": self.place,
            "month": self.month,
            "instance_type": self.instance_type,
            "effective_rate": str(self.rate),
            "billed_usd": str(self.billed_usd),
            "list_usd": str(self.list_usd),
            "source": self.source,
        }


@dataclass(frozen=True)
class EffectiveRates:
    """Rates by place: ``overrides[region][instance_type]`` (``"*"`` for every region) win over
    ``learned[place]``, a list of rates learned month by month."""

    overrides: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)
    learned: Mapping[str, tuple[LearnedRate, ...]] = field(default_factory=dict)

    def rate(self, record: CostRecord) -> tuple[Decimal, str] | None:
        """The rate of ``record`` and where it came from, or None when none is known. An
        endpoint's own override (``"endpoint/<name>"``) wins over its instance type's."""
        for key in (f"{ENDPOINT_KEY}{record.endpoint_name}", record.instance_type):
            for scope in (record.region, "*"):
                rate = self.overrides.get(scope, {}).get(key)
                if rate is not None:
                    return rate, "override"
        month = f"{record.interval_start:%Y-%m}"
        best: LearnedRate | None = None
        for learned in self.learned.get(record.place, ()):
            fits = learned.instance_type == record.instance_type and learned.month <= month
            if fits and (best is None or learned.month > best.month):
                best = learned
        return (best.rate, f"bill {best.month}") if best is not None else None

    @property
    def known(self) -> bool:
        return any(self.overrides.values()) or any(self.learned.values())


NO_RATES = EffectiveRates()


def apply_rate(list_cost: Decimal, rate: Decimal) -> Decimal:
    """List cost at an effective rate, to the micro-dollar (half even)."""
    return (list_cost * rate).quantize(QUANTUM, rounding=ROUND_HALF_EVEN)


def effective_cost(record: CostRecord, rates: EffectiveRates) -> Decimal | None:
    """The record's effective cost, or None when no rate is known for it."""
    found = rates.rate(record)
    return None if found is None else apply_rate(record.cost_usd, found[0])


def coster(basis: CostBasis, rates: EffectiveRates) -> Callable[[CostRecord], Decimal]:
    """How much a record counts for under ``basis``: list cost, or effective cost where a
    rate is known (list cost where none is)."""
    if basis is CostBasis.LIST or not rates.known:
        return lambda record: record.cost_usd

    def cost(record: CostRecord) -> Decimal:
        value = effective_cost(record, rates)
        return record.cost_usd if value is None else value

    return cost


def unrated_share(records: Iterable[CostRecord], rates: EffectiveRates) -> Decimal:
    """The list cost of the records no rate is known for (shown as "at list price")."""
    return sum((r.cost_usd for r in records if rates.rate(r) is None), Decimal(0))


def parse_rate(value: object, field_name: str) -> Decimal:
    rate = parse_money(value, field_name)
    if rate <= 0 or rate > MAX_RATE:
        raise InputError(field_name, f"an effective rate is billed / list, above 0 and at most {MAX_RATE}, got {value!r}")
    return rate


def load_override_rates(document: Mapping[str, Any], source: str) -> dict[str, dict[str, Decimal]]:
    """``effective_rates`` of a price overrides document: region (or ``"*"``) -> instance type
    -> rate. Errors name the field."""
    table = document.get("effective_rates", {})
    if not isinstance(table, dict):
        raise InputError(f"{source}: effective_rates", "expected an object of region -> {instance type: rate}")
    rates: dict[str, dict[str, Decimal]] = {}
    for scope, entries in table.items():
        if not isinstance(entries, dict):
            raise InputError(f"{source}: effective_rates.{scope}", "expected an object of instance type -> rate")
        rates[scope] = {
            instance_type: parse_rate(value, f"{source}: effective_rates.{scope}.{instance_type}")
            for instance_type, value in entries.items()
        }
    return rates


def learn_rates(
    totals: Mapping[tuple[str, str], tuple[Decimal, Decimal]], month: str, source: str
) -> list[LearnedRate]:
    """Rates from a reconciled bill: ``totals[(place, instance type)] = (billed, list)`` summed
    over the endpoint days both the bill and the ledger have. A type whose list cost is zero
    teaches nothing."""
    learned = []
    for (where, instance_type), (billed, listed) in sorted(totals.items()):
        if listed <= 0:
            continue
        rate = (billed / listed).quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)
        if 0 < rate <= MAX_RATE:
            learned.append(LearnedRate(where, month, instance_type, rate, billed, listed, source))
    return learned
