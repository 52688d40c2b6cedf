"""The monthly statement as a service: one team's month read from the ledger, with the idle
waste of the latest stored idle report (``core.statement`` does the arithmetic)."""

from __future__ import annotations

from collections.abc import Sequence

from spendwatch.aws.ledger import Ledger
from spendwatch.aws.reports import ReportStore
from spendwatch.core.statement import (
    BillComparison,
    CostOf,
    Statement,
    build_statement,
    check_team,
    idle_from_report,
    list_cost,
)
from spendwatch.core.timestamps import month_bounds


def read_statement(
    ledger: Ledger,
    reports: ReportStore | None,
    where: str,
    team: str,
    month: str,
    *,
    cost_of: CostOf = list_cost,
    reconciled: Sequence[BillComparison] | None = None,
) -> Statement:
    """``team``'s statement for ``month`` from the ledger of ``where`` (a place: the region, or
    ``<account>:<region>``): the month's records (one Query per day), the meter's progress
    (days it has not reached are shown as not metered; without one, as after ``spendwatch
    meter``, the span of the month's records) and, when ``reports`` is given and holds one,
    the latest idle report (the idle waste; not known otherwise)."""
    check_team(team)
    start, end = month_bounds(month)
    records = list(ledger.records(where, start, end))  # every team's: they tell how far the month is metered
    progress = ledger.meter_progress(where)
    first, last = progress.first_start, progress.last_end
    if last is None and records:  # metered by the CLI (which keeps no progress): the records' own extent
        first, last = min(r.interval_start for r in records), max(r.interval_end for r in records)
    report = reports.latest(where) if reports is not None else None
    return build_statement(
        records,
        team,
        month,
        cost_of=cost_of,
        idle=idle_from_report(report) if report is not None else None,
        reconciled=reconciled,
        metered_from=first,
        metered_until=last,
    )
