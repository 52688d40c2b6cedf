"""Chargeback as a service: totals from the ledger, by a tag or a resource."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from spendwatch.aws.ledger import Ledger
from spendwatch.core import chargeback as cb
from spendwatch.core.effective import NO_RATES, CostBasis, EffectiveRates, coster, unrated_share
from spendwatch.core.errors import InputError
from spendwatch.core.ledger import GROUP_KEYS, UNTAGGED
from spendwatch.core.timestamps import month_bounds
from spendwatch.services.meter import check_range


def run_chargeback(
    ledger: Ledger,
    region: str,
    by: str,
    month: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    interval_minutes: int = 60,
    cost: CostBasis = CostBasis.LIST,
    rates: EffectiveRates = NO_RATES,
) -> cb.Chargeback:
    """A month reads its rollups (a handful of items); any other range reads its records,
    and must lie on the meter's interval grid (a part of an interval cannot be told apart).
    By component or model, a month whose ``(untagged)`` rollup is not zero also reads its
    records, to name the unallocated capacity in it exactly (the stored keys stay as written).
    By effective cost with a rate known, the records are read (rollups hold list cost)."""
    if by not in GROUP_KEYS:
        raise InputError("--by", f"must be one of {', '.join(GROUP_KEYS)}, got {by!r}")
    return _chargeback(ledger, region, by, month, start, end, interval_minutes, cost, rates)


def run_org_chargeback(
    ledger: Ledger,
    places: list[tuple[str, str, str]],
    by: str,
    month: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    interval_minutes: int = 60,
    cost: CostBasis = CostBasis.LIST,
    rates: EffectiveRates = NO_RATES,
) -> cb.Chargeback:
    """Chargeback over several account regions, ``places`` = (account id, region, ledger
    place): each is read as its own, then merged (``--by account`` / ``--by region`` too)."""
    if by not in cb.BY_KEYS:
        raise InputError("--by", f"must be one of {', '.join(cb.BY_KEYS)}, got {by!r}")
    first, last = month_bounds(month) if month is not None else (start, end)
    if first is None or last is None:
        raise InputError("--month", "give --month YYYY-MM, or --start and --end")
    within = "team" if by in cb.PLACE_KEYS else by  # by account or region: each place's total is what counts
    parts = [
        (
            account_id if by == "account" else region,
            _chargeback(ledger, place, within, month, start, end, interval_minutes, cost, rates),
        )
        for account_id, region, place in places
    ]
    return cb.merge(parts, by, first, last)


def _chargeback(
    ledger: Ledger,
    region: str,
    by: str,
    month: str | None,
    start: datetime | None,
    end: datetime | None,
    interval_minutes: int,
    cost: CostBasis = CostBasis.LIST,
    rates: EffectiveRates = NO_RATES,
) -> cb.Chargeback:
    if cost is CostBasis.EFFECTIVE and rates.known:
        first, last = month_bounds(month) if month is not None else (start, end)
        if first is None or last is None:
            raise InputError("--month", "give --month YYYY-MM, or --start and --end")
        if month is None:
            check_range(first, last, interval_minutes, None)
        records = list(ledger.records(region, first, last))
        result = cb.from_records(records, by, first, last, coster(cost, rates))
        return cb.as_effective(result, unrated_share(records, rates))
    listed = _list_chargeback(ledger, region, by, month, start, end, interval_minutes)
    return cb.as_effective(listed, listed.total) if cost is CostBasis.EFFECTIVE else listed


def _list_chargeback(
    ledger: Ledger,
    region: str,
    by: str,
    month: str | None,
    start: datetime | None,
    end: datetime | None,
    interval_minutes: int,
) -> cb.Chargeback:
    if month is not None:
        first, last = month_bounds(month)
        rollups = ledger.rollups(region, month, by)
        unallocated = None
        if by in cb.RESOURCE_KEYS and rollups.get(UNTAGGED):
            unallocated = sum((r.cost_usd for r in ledger.records(region, first, last) if cb.is_unallocated(r, by)), Decimal(0))
        return cb.from_rollups(rollups, by, first, last, unallocated)
    if start is None or end is None:
        raise InputError("--month", "give --month YYYY-MM, or --start and --end")
    check_range(start, end, interval_minutes, None)
    return cb.from_records(ledger.records(region, start, end), by, start, end)
