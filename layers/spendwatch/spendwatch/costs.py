"""Metering and chargeback as services over AWS (CLI and the hourly Lambda alike)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from spendwatch import chargeback as cb
from spendwatch.aws.cloudwatch import CloudWatchMetrics
from spendwatch.aws.ledger import Ledger
from spendwatch.aws.sagemaker import SageMakerInventory
from spendwatch.aws.session import AwsContext
from spendwatch.errors import InputError
from spendwatch.ledger import GROUP_KEYS
from spendwatch.metering import CostRecord, Finding, Interval, intervals, meter
from spendwatch.scan import PriceSettings, resolve_prices

log = logging.getLogger(__name__)
CHUNK = 24  # intervals read from CloudWatch at once

Progress = Callable[[str, int, int], None]


@dataclass
class MeterRun:
    records: list[CostRecord] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    metered: list[Interval] = field(default_factory=list)
    written: int = 0
    existing: int = 0
    stopped_early: bool = False


def validate_interval_minutes(minutes: int, field_name: str) -> int:
    if minutes < 1 or 1440 % minutes:
        raise InputError(field_name, f"must divide a day into whole intervals (e.g. 5, 15, 60, 1440), got {minutes}")
    return minutes


def align_down(when: datetime, minutes: int) -> datetime:
    midnight = when.replace(hour=0, minute=0, second=0, microsecond=0)
    step = timedelta(minutes=minutes)
    return midnight + (when - midnight) // step * step


def run_meter(
    aws: AwsContext,
    ledger: Ledger,
    start: datetime,
    end: datetime,
    interval_minutes: int,
    prices: PriceSettings,
    progress: Progress | None = None,
    out_of_time: Callable[[], bool] | None = None,
    on_interval: Callable[[Interval, list[CostRecord]], None] | None = None,
) -> MeterRun:
    """Meter every interval in ``[start, end)`` into the ledger; ``on_interval`` runs once an
    interval's records are safely written (the Lambda advances its state there)."""
    validate_interval_minutes(interval_minutes, "--interval-minutes")
    if start.tzinfo is None or end.tzinfo is None:
        raise InputError("--start", "timestamps must be UTC")
    if end <= start:
        raise InputError("--end", "must be after --start")
    if align_down(start, interval_minutes) != start:
        raise InputError("--start", f"must fall on an interval boundary ({interval_minutes} minutes from midnight UTC)")
    periods = intervals(start, end, interval_minutes)
    run = MeterRun()
    if not periods:
        return run
    inventory = SageMakerInventory(aws.client("sagemaker"), aws.retry, aws.workers).collect(aws.region)
    book = resolve_prices(aws, inventory, prices)
    metrics = CloudWatchMetrics(aws.client("cloudwatch"), aws.retry)
    done = 0
    for offset in range(0, len(periods), CHUNK):
        chunk = periods[offset : offset + CHUNK]
        samples = metrics.enhanced_samples(inventory, chunk)
        for interval in chunk:
            if out_of_time and out_of_time():
                run.stopped_early = True
                log.info("stopping before the deadline; %d intervals left for the next run", len(periods) - done)
                return run
            result = meter(inventory, samples, book, interval)
            written = ledger.write(result.records)
            run.records.extend(result.records)
            run.findings.extend(f for f in result.findings if f not in run.findings)
            run.written += written.written
            run.existing += written.existing
            run.metered.append(interval)
            if on_interval:
                on_interval(interval, result.records)
            done += 1
            if progress:
                progress("metering", done, len(periods))
    return run


def month_bounds(month: str) -> tuple[datetime, datetime]:
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise InputError("--month", f"expected YYYY-MM, got {month!r}") from None
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


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
