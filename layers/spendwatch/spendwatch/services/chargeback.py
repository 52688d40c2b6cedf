"""Chargeback as a service: totals from the ledger, by a tag or a resource."""

from __future__ import annotations

from datetime import datetime

from spendwatch.aws.ledger import Ledger
from spendwatch.core import chargeback as cb
from spendwatch.core.errors import InputError
from spendwatch.core.ledger import GROUP_KEYS
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
) -> cb.Chargeback:
    """A month reads its rollups (a handful of items); any other range reads its records,
    and must lie on the meter's interval grid (a part of an interval cannot be told apart)."""
    if by not in GROUP_KEYS:
        raise InputError("--by", f"must be one of {', '.join(GROUP_KEYS)}, got {by!r}")
    if month is not None:
        first, last = month_bounds(month)
        return cb.from_rollups(ledger.rollups(region, month, by), by, first, last)
    if start is None or end is None:
        raise InputError("--month", "give --month YYYY-MM, or --start and --end")
    check_range(start, end, interval_minutes, None)
    return cb.from_records(ledger.records(region, start, end), by, start, end)
