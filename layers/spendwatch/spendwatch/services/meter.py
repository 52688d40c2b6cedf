"""Metering as a service over AWS: the CLI's ``meter`` and the hourly Lambda alike."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from spendwatch.aws.cloudwatch import CloudWatchMetrics
from spendwatch.aws.ledger import Ledger
from spendwatch.aws.sagemaker import SageMakerInventory
from spendwatch.aws.session import AwsContext
from spendwatch.core.errors import InputError
from spendwatch.core.metering import CostRecord, Finding, Interval, intervals, meter, validate_interval_minutes
from spendwatch.core.timestamps import align_down
from spendwatch.services.prices import PriceSettings, resolve_prices

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
