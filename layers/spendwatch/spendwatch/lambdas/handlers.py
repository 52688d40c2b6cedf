"""What each function does, given its parsed event and validated configuration. The
files under functions/ only set up Powertools and call in here."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from spendwatch.aws.ledger import Ledger
from spendwatch.aws.reports import ReportStore
from spendwatch.aws.session import AwsContext, lambda_aws
from spendwatch.aws.sns import Publisher
from spendwatch.core.errors import InputError
from spendwatch.core.metering import METRICS_RETENTION, CostRecord, Interval
from spendwatch.core.money import format_money
from spendwatch.core.timestamps import align_down, format_utc
from spendwatch.lambdas.config import CostMeterConfig, IdleScanConfig, NotifierConfig
from spendwatch.lambdas.emf import emit_meter_metrics, emit_meter_run, emit_notifier_metrics, emit_scan_metrics
from spendwatch.lambdas.events import ScheduledMeter, ScheduledNotify, ScheduledScan
from spendwatch.services.meter import run_meter, settle_day
from spendwatch.services.notify import NotifySettings, prepare, send
from spendwatch.services.prices import PriceSettings
from spendwatch.services.scan import ScanSettings, run_scan

FUTURE_TOLERANCE = timedelta(minutes=5)


def idle_scan(event: ScheduledScan, config: IdleScanConfig, log: Any) -> dict[str, Any]:
    aws = lambda_aws(config.region, event.scheduled_time)
    settings = ScanSettings(
        lookback_hours=event.lookback_hours or config.lookback_hours,
        history_hours=config.history_hours,
        prices=PriceSettings(
            price_parameter=config.prices_parameter,
            refresh_from_api=config.refresh_prices,
            # survives warm starts; a cold start asks the Price List API again
            cache_path=Path(tempfile.gettempdir()) / "spendwatch-prices.json",
        ),
    )
    report = run_scan(aws, settings)
    document = report.to_json()
    stored = ReportStore(aws.client("dynamodb"), config.table_name, aws.retry).put(document, report.scanned_at, report.region)
    if stored.created:  # a replayed delivery must not count the same night twice in CloudWatch
        emit_scan_metrics(report, config.namespace, config.endpoint_metrics)
    summary = {
        **document["summary"],
        "scanned_at": document["scanned_at"],
        "region": report.region,
        "stored": stored.created,
        "report_key": {"pk": stored.key[0], "sk": stored.key[1]},
    }
    log.info("idle scan done", extra={"summary": summary})
    return summary


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def check_schedule(scheduled: datetime, interval_minutes: int, wall: datetime) -> None:
    """Refuse, before anything is read or written, an event that names a time the meter
    cannot honestly meter: the future, or older than CloudWatch keeps the metrics."""
    if scheduled > wall + FUTURE_TOLERANCE:
        raise InputError("event.scheduled_time", f"{format_utc(scheduled)} is in the future (now {format_utc(wall)})")
    retention = METRICS_RETENTION if interval_minutes >= 60 else timedelta(days=63 if interval_minutes >= 5 else 15)
    if scheduled < wall - retention:
        raise InputError(
            "event.scheduled_time",
            f"{format_utc(scheduled)} is older than CloudWatch keeps {interval_minutes}-minute metrics ({retention.days} days)",
        )


def cost_meter(
    event: ScheduledMeter,
    config: CostMeterConfig,
    remaining_ms: Callable[[], int],
    log: Any,
    clock: Callable[[], datetime] = _wall_clock,
) -> dict[str, Any]:
    """Meter every closed, settled interval since the last one completed (state in the
    table): a missed run catches up, a duplicate delivery finds nothing to do, a run that
    nears the Lambda deadline stops after a whole interval and leaves the rest to the next,
    and an interval holding an unpriced resource (with no last known price) is not passed."""
    wall = clock()
    check_schedule(event.scheduled_time, config.interval_minutes, wall)
    aws = lambda_aws(config.region, min(event.scheduled_time, wall))
    # Retries wait only while the Lambda has time left beyond its margin: past that, the run
    # stops at a whole interval and the next one resumes.
    aws = replace(aws, retry=aws.retry.with_deadline(lambda: remaining_ms() / 1000 - config.deadline_margin_s))
    ledger = Ledger(aws.client("dynamodb"), config.table_name, aws.retry)
    end = align_down(aws.now - timedelta(minutes=config.settle_minutes), config.interval_minutes)
    last = ledger.meter_state(config.region)
    if last is not None:
        start = last
    else:  # the first run: the configured backfill, or at least the last closed interval
        start = end - max(timedelta(hours=config.backfill_hours), timedelta(minutes=config.interval_minutes))
    start = align_down(start, config.interval_minutes)
    prices = PriceSettings(
        price_parameter=config.prices_parameter,
        refresh_from_api=config.refresh_prices,
        cache_path=Path(tempfile.gettempdir()) / "spendwatch-prices.json",
    )

    def done(interval: Interval, written: list[CostRecord]) -> None:
        # Metrics only for what this run wrote: a replayed interval was counted by the run
        # that wrote it. EMF is checked against the wall clock: CloudWatch drops timestamps
        # over two weeks old.
        if written:
            emit_meter_metrics(config.region, interval, written, config.namespace, wall)
        ledger.advance(config.region, interval.end, interval.start)

    run = (
        run_meter(
            aws,
            ledger,
            start,
            end,
            config.interval_minutes,
            prices,
            out_of_time=lambda: remaining_ms() < config.deadline_margin_s * 1000,
            on_interval=done,
            hold_unpriced=True,
        )
        if start < end
        else None
    )
    if run and run.held_at and last is None and not run.metered:
        # Held on the very first interval: anchor the ledger's start there, so that the next
        # run's backfill begins at the same hour instead of sliding past it.
        ledger.advance(config.region, run.held_at.start, run.held_at.start)
        last = run.held_at.start
    metered_until = run.metered[-1].end if run and run.metered else last
    settled = _settle_yesterday(aws, ledger, config, prices) if not (run and run.stopped_early) else None
    lag = (aws.now - metered_until).total_seconds() / 3600 if metered_until else 0.0
    emit_meter_run(config.region, run.unpriced if run else 0, round(lag, 2), config.namespace)
    summary = {
        "region": config.region,
        "from": format_utc(start),
        "to": format_utc(end),
        "intervals": len(run.metered) if run else 0,
        "records_written": run.written if run else 0,
        "records_already_in_ledger": run.existing if run else 0,
        "cost_usd": format_money(sum((r.cost_usd for r in run.records), Decimal(0))) if run else "0.000000",
        "findings": [f"{f.endpoint_name}: {f.kind}" for f in run.findings] if run else [],
        "stopped_early": run.stopped_early if run else False,
        "held_at": format_utc(run.held_at.start) if run and run.held_at else None,
        "unpriced_resources": run.unpriced if run else 0,
        "deleted_since_last_run": run.deleted if run else 0,
        "metered_until": format_utc(metered_until) if metered_until else None,
        "settled": settled,
    }
    if run and run.held_at:
        log.warning("cost meter held: unpriced resources", extra={"summary": summary})
    log.info("cost meter done", extra={"summary": summary})
    return summary


def _settle_yesterday(aws: AwsContext, ledger: Ledger, config: CostMeterConfig, prices: PriceSettings) -> dict[str, Any] | None:
    """Once a day, when yesterday is wholly metered and its metrics final, the settle pass
    appends corrections where final data changed a figure. The first, partial day of the
    ledger is not settled (there is nothing to correct before the meter began)."""
    today = align_down(aws.now, 1440)
    yesterday = today - timedelta(days=1)
    progress = ledger.meter_progress(config.region)
    if (
        aws.now < today + timedelta(hours=config.settle_after_hours)
        or progress.first_start is None
        or progress.first_start > yesterday
        or progress.last_end is None
        or progress.last_end < today
        or (progress.settled_until is not None and progress.settled_until >= today)
    ):
        return None
    run = settle_day(aws, ledger, yesterday, config.interval_minutes, prices)
    ledger.mark_settled(config.region, today)
    return {
        "day": f"{yesterday:%Y-%m-%d}",
        "corrections": len(run.corrections),
        "added": len(run.added),
        "difference_usd": format_money(sum((r.cost_usd for r in run.corrections + run.added), Decimal(0))),
    }


def notifier(event: ScheduledNotify, config: NotifierConfig, log: Any) -> dict[str, Any]:
    """Publish the latest idle report (a digest per team) and newly crossed budget
    thresholds. A failed publish raises: Lambda retries, then the event goes to the
    dead-letter queue; the report stays in the table and nothing sent is sent again."""
    aws = lambda_aws(config.region, event.scheduled_time)
    ledger = Ledger(aws.client("dynamodb"), config.table_name, aws.retry)
    store = ReportStore(aws.client("dynamodb"), config.table_name, aws.retry)
    settings = NotifySettings(
        budgets_parameter=config.budgets_parameter, thresholds_pct=config.thresholds_pct, unreadable_budgets_are_problems=True
    )
    prepared = prepare(aws, ledger, store, settings, event.scheduled_time)
    for problem in prepared.problems:
        log.warning("budget not read", extra={"problem": problem})
    sent = send(Publisher(aws.client("sns"), aws.retry), ledger, config.region, config.topic_arn, prepared, event.scheduled_time)
    alerts = sum(1 for n, _ in prepared.messages if n.kind == "budget")
    emit_notifier_metrics(config.region, sent, alerts, config.namespace)
    summary = {
        "region": config.region,
        "report_scanned_at": prepared.report_scanned_at,
        "sent": sent,
        "idle_digests": sent - alerts,
        "budget_alerts": alerts,
        "budgets": len(prepared.statuses),
        "budget_problems": prepared.problems,
    }
    log.info("notifier done", extra={"summary": summary})
    return summary
