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

from spendwatch.aws.actions import ActionLog
from spendwatch.aws.ledger import Ledger
from spendwatch.aws.organizations import active_accounts
from spendwatch.aws.reports import ReportStore
from spendwatch.aws.session import AwsContext, lambda_aws
from spendwatch.aws.sns import Publisher
from spendwatch.aws.ssm import read_parameter
from spendwatch.core.accounts import organization_targets, parse_accounts
from spendwatch.core.errors import InputError, SpendwatchError
from spendwatch.core.metering import METRICS_RETENTION, CostRecord, Interval
from spendwatch.core.money import format_money
from spendwatch.core.timestamps import align_down, format_utc, parse_utc
from spendwatch.lambdas.config import (
    CostMeterConfig,
    IdleScanConfig,
    NotifierConfig,
    RemediationConfig,
    TargetsConfig,
    member_external_id,
)
from spendwatch.lambdas.emf import (
    emit_fanout_report,
    emit_meter_metrics,
    emit_meter_run,
    emit_notifier_metrics,
    emit_remediation_metrics,
    emit_scan_metrics,
)
from spendwatch.lambdas.events import FanOutEvent, ScheduledMeter, ScheduledNotify, ScheduledRemediation, ScheduledScan
from spendwatch.services import act as remediation
from spendwatch.services.advise import advice_for_scan
from spendwatch.services.estate import home_account, open_target
from spendwatch.services.meter import run_meter, settle_day
from spendwatch.services.notify import NotifySettings, prepare, send
from spendwatch.services.prices import PriceSettings
from spendwatch.services.scan import ScanSettings, run_scan

FUTURE_TOLERANCE = timedelta(minutes=5)


def _where(aws: AwsContext, event: ScheduledScan) -> AwsContext:
    """The account region an invocation reads: its own, or the fan-out's target (through
    the member role; the ledger stays central)."""
    if event.target is None:
        return aws
    return open_target(aws, event.target.to_target(), member_external_id())


def idle_scan(event: ScheduledScan, config: IdleScanConfig, log: Any) -> dict[str, Any]:
    central = lambda_aws(config.region, event.scheduled_time)
    aws = _where(central, event)
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
    document = report.to_json(event.target.account_id if event.target else "")
    # Right-sizing advice rides with the report, for the digest (null when it cannot be read).
    document["advice"] = advice_for_scan(aws, report, event.target.account_id if event.target else "")
    stored = ReportStore(aws.client("dynamodb"), config.table_name, aws.retry).put(document, report.scanned_at, report.place)
    if stored.created:  # a replayed delivery must not count the same night twice in CloudWatch
        emit_scan_metrics(report, config.namespace, config.endpoint_metrics)
    summary = {
        **document["summary"],
        "scanned_at": document["scanned_at"],
        "account_id": document["account_id"],
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
    central = lambda_aws(config.region, min(event.scheduled_time, wall))
    # Retries wait only while the Lambda has time left beyond its margin: past that, the run
    # stops at a whole interval and the next one resumes.
    central = replace(central, retry=central.retry.with_deadline(lambda: remaining_ms() / 1000 - config.deadline_margin_s))
    aws = _where(central, event)
    where = aws.place  # the ledger partition of this account region
    target_account = event.target.account_id if event.target else None
    ledger = Ledger(aws.client("dynamodb"), config.table_name, aws.retry)
    end = align_down(aws.now - timedelta(minutes=config.settle_minutes), config.interval_minutes)
    last = ledger.meter_state(where)
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
            emit_meter_metrics(aws.region, interval, written, config.namespace, wall, target_account)
        ledger.advance(where, interval.end, interval.start)

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
            keep_records=False,  # streamed: written, counted, let go
        )
        if start < end
        else None
    )
    if run and run.held_at and last is None and not run.metered:
        # Held on the very first interval: anchor the ledger's start there, so that the next
        # run's backfill begins at the same hour instead of sliding past it.
        ledger.advance(where, run.held_at.start, run.held_at.start)
        last = run.held_at.start
    metered_until = run.metered[-1].end if run and run.metered else last
    settled = _settle_yesterday(aws, ledger, config, prices) if not (run and run.stopped_early) else None
    lag = (aws.now - metered_until).total_seconds() / 3600 if metered_until else 0.0
    emit_meter_run(aws.region, run.unpriced if run else 0, round(lag, 2), config.namespace)
    summary = {
        "account_id": event.target.account_id if event.target else None,
        "region": aws.region,
        "from": format_utc(start),
        "to": format_utc(end),
        "intervals": len(run.metered) if run else 0,
        "records_written": run.written if run else 0,
        "records_already_in_ledger": run.existing if run else 0,
        "cost_usd": format_money(run.cost_usd) if run else "0.000000",
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
    progress = ledger.meter_progress(aws.place)
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
    ledger.mark_settled(aws.place, today)
    return {
        "day": f"{yesterday:%Y-%m-%d}",
        "corrections": len(run.corrections),
        "added": len(run.added),
        "difference_usd": format_money(sum((r.cost_usd for r in run.corrections + run.added), Decimal(0))),
    }


def notifier(event: ScheduledNotify, config: NotifierConfig, log: Any) -> dict[str, Any]:
    """Publish the latest idle report (a digest per team), newly crossed budget thresholds
    and, on the 1st of a month, each team's statement of the month just ended. A failed
    publish raises: Lambda retries, then the event goes to the dead-letter queue; the report
    stays in the table and nothing sent is sent again."""
    aws = _where(lambda_aws(config.region, event.scheduled_time), event)
    ledger = Ledger(aws.client("dynamodb"), config.table_name, aws.retry)
    store = ReportStore(aws.client("dynamodb"), config.table_name, aws.retry)
    settings = NotifySettings(
        budgets_parameter=config.budgets_parameter, thresholds_pct=config.thresholds_pct, unreadable_budgets_are_problems=True
    )
    prepared = prepare(aws, ledger, store, settings, event.scheduled_time)
    for problem in prepared.problems:
        log.warning("budget not read", extra={"problem": problem})
    sent = send(Publisher(aws.client("sns"), aws.retry), ledger, aws.place, config.topic_arn, prepared, event.scheduled_time)
    alerts = sum(1 for n, _ in prepared.messages if n.kind == "budget")
    statements = sum(1 for n, _ in prepared.messages if n.kind == "statement")  # on the 1st of a month
    emit_notifier_metrics(aws.region, sent, alerts, config.namespace)
    summary = {
        "account_id": event.target.account_id if event.target else None,
        "region": aws.region,
        "report_scanned_at": prepared.report_scanned_at,
        "sent": sent,
        "idle_digests": sent - alerts - statements,
        "budget_alerts": alerts,
        "statements": statements,
        "budgets": len(prepared.statuses),
        "budget_problems": prepared.problems,
    }
    log.info("notifier done", extra={"summary": summary})
    return summary


def targets(event: FanOutEvent, config: TargetsConfig, log: Any) -> dict[str, Any]:
    """The fan-out's two ends. ``list``: the (account, region) targets of the task, from the
    accounts parameter or AWS Organizations. ``report``: which targets failed, by name
    (logged, counted in ``FailedTargets``: the alarm fires), after the others completed."""
    base = {"task": event.task, "scheduled_time": format_utc(event.scheduled_time)}
    aws = lambda_aws(config.region, event.scheduled_time)
    if event.action == "list":
        home = home_account(aws)
        if config.accounts_parameter:
            text = read_parameter(aws.client("ssm"), config.accounts_parameter, "SPENDWATCH_ACCOUNTS_PARAMETER")
            found, _ = parse_accounts(text, config.accounts_parameter, home, config.regions)
        else:
            accounts = active_accounts(aws.client("organizations"), aws.retry)
            found = organization_targets(accounts, config.regions, config.role_name, home)
        log.info("fan-out targets", extra={"task": event.task, "targets": len(found)})
        return {**base, "targets": [t.to_json() for t in found]}
    failed = [r for r in event.results if isinstance(r, dict) and r.get("error")]
    names = []
    for result in failed:
        target = result.get("target") or {}
        error = result["error"] if isinstance(result["error"], dict) else {"Error": str(result["error"])}
        names.append(f"{target.get('account_id', '?')} {target.get('region', '?')}: {error.get('Error', 'failed')}")
    emit_fanout_report(event.task, len(failed), len(event.results) - len(failed), config.namespace)
    if failed:
        log.error("fan-out targets failed", extra={"task": event.task, "failed": names})
    summary = {**base, "targets": len(event.results), "failed": names}
    log.info("fan-out done", extra={"summary": summary})
    return summary


REPORT_MAX_AGE = timedelta(hours=20)
"""Remediation acts on the night's report: one older than this (the scan failed) is not acted on."""


def remediate(event: ScheduledRemediation, config: RemediationConfig, log: Any) -> dict[str, Any]:
    """Plan from the latest stored idle report and, with ``Remediation`` = ``apply``, take
    each action once (a replayed delivery finds every action taken and does nothing). An
    action that failed is recorded and the invocation fails after the others (retried: a
    failed action is taken over by the next run)."""
    aws = lambda_aws(config.region, event.scheduled_time)
    store = ReportStore(aws.client("dynamodb"), config.table_name, aws.retry)
    summary: dict[str, Any] = {"region": aws.region, "mode": config.mode, "idle_nights": config.idle_nights}
    report = store.latest(aws.place)
    scanned = parse_utc(report["scanned_at"], "report.scanned_at") if report is not None else None
    if report is None or scanned is None or not timedelta(0) <= event.scheduled_time - scanned <= REPORT_MAX_AGE:
        why = "no idle report stored" if report is None else f"the latest idle report ({report['scanned_at']}) is not tonight's"
        log.warning("remediation: nothing to act on", extra={"reason": why})
        return {**summary, "report_scanned_at": report["scanned_at"] if report else None, "actions": [], "reason": why}
    run = remediation.act(
        aws,
        report,
        ActionLog(aws.client("dynamodb"), config.table_name, aws.retry),
        remediation.ActSettings(min_idle_nights=config.idle_nights, apply=config.apply),
        now=event.scheduled_time,
    )
    document = run.to_json()
    summary |= {
        "report_scanned_at": report["scanned_at"],
        "dry_run": run.dry_run,
        "planned": len(run.outcomes),
        "done": sum(1 for o in run.outcomes if o.status == remediation.DONE),
        "monthly_saving_usd": document["monthly_saving_usd"],
        "actions": document["actions"],
        "findings": document["findings"],
    }
    log.info("remediation done", extra={"summary": summary})
    if run.dry_run is False:
        emit_remediation_metrics(aws.region, summary["done"], len(run.failed), float(run.monthly_saving()), config.namespace)
    if run.failed:
        names = ", ".join(f"{o.action.kind.value} {o.action.name}: {o.detail}" for o in run.failed)
        log.error("remediation actions failed", extra={"failed": names})
        raise SpendwatchError(f"{len(run.failed)} remediation actions failed: {names}")
    return summary
