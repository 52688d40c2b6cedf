"""Chargeback as a service: totals from the ledger, by a tag or a resource."""

from __future__ import annotations

from datetime import datetime

from spendwatch.aws.ledger import Ledger
from spendwatch.core import chargeback as cb
from spendwatch.core.errors import InputError
from spendwatch.core.ledger import GROUP_KEYS
from spendwatch.core.timestamps import month_bounds


def run_chargeback(
    ledger: Ledger, region: str, by: str, month: str | None = None, start: datetime | None = None, end: datetime | None = None
) -> cb.Chargeback:
    """A month reads its rollups (a handful of items); any other range reads its records."""
    if by not in GROUP_KEYS:
        raise InputError("--by", f"must be one of {', '.join(GROUP_KEYS)}, got {by!r}")
    if month is not None:
        first, last = month_bounds(month)
        return cb.from_rollups(ledger.rollups(region, month, by), by, first, last)
    if start is None or end is None:
        raise InputError("--month", "give --month YYYY-MM, or --start and --end")
    if end <= start:
        raise InputError("--end", "must be after --start")
    return cb.from_records(ledger.records(region, start, end), by, start, end)
