"""Metering as a service over AWS: the CLI's ``meter`` and the hourly Lambda alike."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from spendwatch.aws.cloudtrail import CloudTrailHistory
from spendwatch.aws.cloudwatch import CloudWatchMetrics
from spendwatch.aws.ledger import Ledger
from spendwatch.aws.retry import OutOfTime
from spendwatch.aws.session import AwsContext
from spendwatch.core.errors import InputError
from spendwatch.core.inventory import Inventory
from spendwatch.core.metering import CostRecord, Finding, Interval, intervals, meter, validate_interval_minutes
from spendwatch.core.settle import corrections
from spendwatch.core.snapshot import Deletion, reconcile
from spendwatch.core.timestamps import align_down, format_utc
from spendwatch.services.estate import collect_inventory
from spendwatch.services.gc import long_lived
from spendwatch.services.prices import PriceSettings, resolve_meter_prices

log = logging.getLogger(__name__)
CHUNK = 6  # intervals read from CloudWatch at once: memory flat in the hours metered
MAX_RANGE = timedelta(days=400)
FULL_DESCRIBE_EVERY = timedelta(hours=24)  # LastModifiedTime is trusted for a day at most
DELETION_LOOKBACK = timedelta(hours=1)  # CloudTrail delivers events within minutes; look a little before the snapshot

Progress = Callable[[str, int, int], None]


@dataclass
class MeterRun:
    records: list[CostRecord] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    metered: list[Interval] = field(default_factory=list)
    written: int = 0
    existing: int = 0
    stopped_early: bool = False
    held_at: Interval | None = None
    """The first interval left unmetered because a resource in it has no price (and no last
    known one): the meter does not move past it, and retries it next run."""
    unpriced: int = 0
    """Unpriced resources in the last interval looked at (0 when everything was priced)."""
    deleted: int = 0
    """Resources the snapshot remembered that were gone this run (charged until deleted)."""
    cost_usd: Decimal = Decimal(0)
    """The cost of every record metered (kept or not)."""
    record_count: int = 0


def check_range(start: datetime, end: datetime, interval_minutes: int, now: datetime | None) -> list[Interval]:
    """The intervals of ``[start, end)``; a range off the interval grid, longer than
    ``MAX_RANGE``, or ending after ``now`` (when given) is refused, naming the flag."""
    validate_interval_minutes(interval_minutes, "--interval-minutes")
    if start.tzinfo is None or end.tzinfo is None:
        raise InputError("--start", "timestamps must be UTC")
    if end <= start:
        raise InputError("--end", "must be after --start")
    for flag, value in (("--start", start), ("--end", end)):
        below = align_down(value, interval_minutes)
        if below != value:
            step = timedelta(minutes=interval_minutes)
            raise InputError(
                flag,
                f"must fall on an interval boundary ({interval_minutes} minutes from midnight UTC): "
                f"the nearest are {format_utc(below)} and {format_utc(below + step)}",
            )
    if end - start > MAX_RANGE:
        raise InputError("--end", f"a range covers at most {MAX_RANGE.days} days, got {(end - start).days}")
    if now is not None and end > now:
        raise InputError(
            "--end", f"{format_utc(end)} is after now ({format_utc(now)}): only intervals that have ended are metered"
        )
    return intervals(start, end, interval_minutes)


def metered_inventory(aws: AwsContext, ledger: Ledger) -> tuple[Inventory, list[Finding], int]:
    """The estate to meter: what exists now, plus what the meter's last snapshot held that has
    been deleted since (bounded by its deletion time from CloudTrail). The new snapshot is
    saved before any record is written, so a crash cannot lose a deletion.

    Between full descriptions (one a day, ``FULL_DESCRIBE_EVERY``), the last snapshot's
    resources whose ``LastModifiedTime`` and status have not moved are not described again."""
    memory = ledger.memory()
    place = Inventory(aws.region, (), (), account_id=aws.account_id).place
    previous = memory.snapshot(place)
    fresh = previous is not None and previous.described_at is not None and aws.now - previous.described_at < FULL_DESCRIBE_EVERY
    current = collect_inventory(aws, previous=previous.inventory if previous is not None and fresh else None)
    described_at = None if fresh else aws.now
    deletions: list[Deletion] = []
    gone = 0
    if previous is not None:
        names = {e.name for e in current.endpoints} | {c.name for c in current.components}
        remembered = [e.name for e in previous.inventory.endpoints if e.deleted_at is None]
        remembered += [c.name for c in previous.inventory.components if c.deleted_at is None]
        gone = sum(1 for name in remembered if name not in names)
        if gone:
            history = CloudTrailHistory(aws.client("cloudtrail"), aws.retry)
            deletions = history.deletions(previous.taken_at - DELETION_LOOKBACK, aws.now)
    snapshot, findings = reconcile(current, previous, deletions, aws.now, described_at)
    memory.save_snapshot(snapshot)
    return snapshot.inventory, findings, gone


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
    hold_unpriced: bool = False,
    keep_records: bool = True,
) -> MeterRun:
    """Meter every interval in ``[start, end)`` into the ledger; ``on_interval`` runs once an
    interval's records are safely written (the Lambda advances its state there), with the
    records this run wrote (a replayed interval's are already in the ledger). With
    ``hold_unpriced`` the run stops before the first interval holding an unpriced resource.
    A run whose retries run out of time stops cleanly: what it finished stays finished.
    Without ``keep_records`` (the Lambda) the records are not kept once written: memory does
    not grow with the hours a backfill meters."""
    periods = check_range(start, end, interval_minutes, aws.now)
    run = MeterRun()
    try:
        _meter_periods(aws, ledger, periods, prices, run, progress, out_of_time, on_interval, hold_unpriced, keep_records)
    except OutOfTime as exc:
        run.stopped_early = True
        log.warning("stopping before the deadline (%s); the next run resumes after the last whole interval", exc)
    return run


def _meter_periods(
    aws: AwsContext,
    ledger: Ledger,
    periods: list[Interval],
    prices: PriceSettings,
    run: MeterRun,
    progress: Progress | None,
    out_of_time: Callable[[], bool] | None,
    on_interval: Callable[[Interval, list[CostRecord]], None] | None,
    hold_unpriced: bool,
    keep_records: bool = True,
) -> None:
    inventory, findings, run.deleted = metered_inventory(aws, ledger)
    run.findings.extend(findings)
    seen = set(run.findings)
    with long_lived():
        book = resolve_meter_prices(aws, inventory, prices, ledger.memory())
        metrics = CloudWatchMetrics(aws.client("cloudwatch"), aws.retry)
        done = 0
        for offset in range(0, len(periods), CHUNK):
            chunk = periods[offset : offset + CHUNK]
            samples = metrics.enhanced_samples(inventory, chunk, now=aws.now)
            for interval in chunk:
                if out_of_time and out_of_time():
                    run.stopped_early = True
                    log.info("stopping before the deadline; %d intervals left for the next run", len(periods) - done)
                    return
                result = meter(inventory, samples, book, interval)
                for finding in result.findings:  # a set: findings repeat every interval, and may be thousands
                    if finding not in seen:
                        seen.add(finding)
                        run.findings.append(finding)
                run.unpriced = sum(1 for f in result.findings if f.kind == "unpriced")
                if hold_unpriced and run.unpriced:
                    run.held_at = interval
                    log.warning("holding at %s: %d resources have no price", format_utc(interval.start), run.unpriced)
                    return
                written = ledger.write(result.records)
                if keep_records:
                    run.records.extend(result.records)
                run.record_count += len(result.records)
                run.cost_usd += sum((r.cost_usd for r in result.records), Decimal(0))
                run.written += len(written.records)
                run.existing += written.existing
                run.metered.append(interval)
                if on_interval:
                    on_interval(interval, written.records)
                done += 1
                if progress:
                    progress("metering", done, len(periods))


@dataclass
class SettleRun:
    day: datetime
    corrections: list[CostRecord] = field(default_factory=list)
    added: list[CostRecord] = field(default_factory=list)
    written: int = 0
    findings: list[Finding] = field(default_factory=list)


def settle_day(aws: AwsContext, ledger: Ledger, day: datetime, interval_minutes: int, prices: PriceSettings) -> SettleRun:
    """Re-meter one whole UTC day from final data and append a correction wherever the
    ledger's figure differs (late samples, a changed price), moving the rollups by the same
    difference. Settling a day twice appends nothing the second time."""
    day = day.replace(hour=0, minute=0, second=0, microsecond=0)
    periods = check_range(day, day + timedelta(days=1), interval_minutes, aws.now)
    run = SettleRun(day)
    inventory, findings, _ = metered_inventory(aws, ledger)
    run.findings.extend(findings)
    book = resolve_meter_prices(aws, inventory, prices, ledger.memory())
    samples = CloudWatchMetrics(aws.client("cloudwatch"), aws.retry).enhanced_samples(inventory, periods, now=aws.now)
    fresh: list[CostRecord] = []
    for interval in periods:
        result = meter(inventory, samples, book, interval)
        fresh.extend(result.records)
        run.findings.extend(f for f in result.findings if f not in run.findings)
    existing = list(ledger.records(inventory.place, periods[0].start, periods[-1].end))
    appended = corrections(existing, fresh)
    run.corrections = [r for r in appended if r.correction]
    run.added = [r for r in appended if not r.correction]
    run.written = len(ledger.write(appended).records)
    return run


def meter_as_scheduled(
    aws: AwsContext, ledger: Ledger, start: datetime, end: datetime, interval_minutes: int, prices: PriceSettings,
    progress: Progress | None = None,
) -> MeterRun:
    """Meter ``[start, end)`` of an emulated account as the hourly schedule would have: one
    run per interval, at the instant it ends (the emulated clock moved there), each with what
    SageMaker, CloudWatch and CloudTrail said then and the snapshot the run before left.
    Without a movable clock (a real account) this is one ``run_meter``."""
    set_clock = aws.emulator.set_clock if aws.emulator is not None else None
    if set_clock is None:
        return run_meter(aws, ledger, start, end, interval_minutes, prices, progress)
    periods = check_range(start, end, interval_minutes, aws.now)
    total = MeterRun()
    try:
        for done, interval in enumerate(periods, start=1):
            set_clock(interval.end)
            run = run_meter(replace(aws, now=interval.end), ledger, interval.start, interval.end, interval_minutes, prices)
            total.records.extend(run.records)
            total.record_count += run.record_count
            total.cost_usd += run.cost_usd
            total.findings.extend(f for f in run.findings if f not in total.findings)
            total.metered.extend(run.metered)
            total.written += run.written
            total.existing += run.existing
            total.deleted += run.deleted
            total.unpriced = max(total.unpriced, run.unpriced)
            if progress:
                progress("metering", done, len(periods))
    finally:
        set_clock(aws.now)
    return total
