"""Reconciliation as a service: the ledger's endpoint days beside a bill's (``core.reconcile``)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from spendwatch.aws.ledger import Ledger
from spendwatch.core.reconcile import Bill, MeteredDay, Reconciliation, compare
from spendwatch.core.statement import BillComparison


def metered_days(ledger: Ledger, places: list[tuple[str, str, str]], start: datetime, end: datetime) -> list[MeteredDay]:
    """The ledger's list cost per endpoint per UTC day in ``[start, end)``, for each
    (account id, region, ledger place)."""
    days: dict[tuple[str, str, str, date], tuple[str, Decimal]] = {}
    for account_id, region, where in places:
        for record in ledger.records(where, start, end):
            key = (account_id, region, record.endpoint_name, record.interval_start.date())
            instance_type, total = days.get(key, (record.instance_type, Decimal(0)))
            days[key] = (instance_type, total + record.cost_usd)
    return [
        MeteredDay(account, region, name, day, instance_type, total)
        for (account, region, name, day), (instance_type, total) in sorted(days.items())
    ]


def reconcile(
    ledger: Ledger,
    places: list[tuple[str, str, str]],
    home_account: str,
    bill: Bill,
    tolerance: Decimal,
    now: datetime,
) -> Reconciliation:
    """Compare ``bill`` with the ledger over the bill's days (whole UTC days), up to the
    earliest end of metering among ``places``."""
    if not bill.days:
        return compare(bill, [], home_account, None, tolerance)
    first = min(d.day for d in bill.days)
    last = max(d.day for d in bill.days)
    start = datetime.combine(first, time(), tzinfo=now.tzinfo)
    end = min(datetime.combine(last, time(), tzinfo=now.tzinfo) + timedelta(days=1), now)
    until = [ledger.meter_state(where) for *_, where in places]
    metered_until = min((u for u in until if u is not None), default=None)
    return compare(bill, metered_days(ledger, places, start, end), home_account, metered_until, tolerance)


def by_endpoint(result: Reconciliation) -> tuple[BillComparison, ...]:
    """Each endpoint's month: what the bill says was paid, against what was metered (at list price)."""
    totals: dict[str, tuple[Decimal, Decimal]] = {}
    for day in result.days:
        billed, metered = totals.get(day.endpoint_name, (Decimal(0), Decimal(0)))
        totals[day.endpoint_name] = (billed + (day.billed or Decimal(0)), metered + (day.metered or Decimal(0)))
    return tuple(BillComparison(name, billed, metered) for name, (billed, metered) in sorted(totals.items()))
