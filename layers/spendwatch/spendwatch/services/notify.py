"""The notifier as a service: read the latest stored idle report and the ledger, decide
which messages are due, publish them, remember what was sent.

A message is marked sent only after SNS accepted it, so a failed publish loses nothing: the
report stays in the table and the next attempt (Lambda's retries, then the dead-letter
queue's redrive, or tomorrow's run) sends what was not sent, and nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from spendwatch.aws.actions import ActionHistory
from spendwatch.aws.ledger import FAILED, SENT, Ledger
from spendwatch.aws.reports import ReportStore
from spendwatch.aws.retry import ambiguous
from spendwatch.aws.session import AwsContext
from spendwatch.aws.sns import Publisher
from spendwatch.aws.ssm import read_parameter
from spendwatch.core import budgets as bg
from spendwatch.core.effective import NO_RATES, CostBasis, EffectiveRates, coster
from spendwatch.core.errors import AwsError, InputError
from spendwatch.core.inventory import Inventory
from spendwatch.core.ledger import group_value, sent_key
from spendwatch.core.notifications import UNTAGGED_TEAM, Notification, budget_alert, idle_digests, statement_message
from spendwatch.core.remediation import ActionRecord, actions_between
from spendwatch.core.statement import build_statements, idle_from_report, previous_month
from spendwatch.core.timestamps import month_bounds, parse_utc
from spendwatch.services.estate import collect_inventory, home_account
from spendwatch.services.files import read_text

log = logging.getLogger(__name__)
RATE_WINDOW = timedelta(days=7)
SENT_RETENTION = timedelta(days=400)


@dataclass(frozen=True)
class NotifySettings:
    budgets_file: Path | None = None
    budgets_parameter: str | None = None
    thresholds_pct: tuple[int, ...] | None = None
    unreadable_budgets_are_problems: bool = False
    """True for the scheduled notifier: a broken budgets document is reported, and the idle
    digests still go out. The CLI refuses it instead (exit 2, before anything is sent)."""


@dataclass
class Prepared:
    messages: list[tuple[Notification, list[tuple[str, ...]]]] = field(default_factory=list)
    statuses: list[bg.BudgetStatus] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    report_scanned_at: str | None = None


def load_budget_config(aws: AwsContext, settings: NotifySettings) -> bg.BudgetConfig:
    config = bg.BudgetConfig()
    if settings.budgets_file is not None:
        text = read_text(settings.budgets_file, "--budgets")
        config = bg.load_config(text, str(settings.budgets_file))
    elif settings.budgets_parameter:
        config = bg.load_config(
            read_parameter(aws.client("ssm"), settings.budgets_parameter, "budgets parameter"),
            f"ssm:{settings.budgets_parameter}",
        )
    if settings.thresholds_pct is not None:
        config = replace(config, thresholds_pct=settings.thresholds_pct)
    return config


def budget_statuses(
    ledger: Ledger, region: str, config: bg.BudgetConfig, now: datetime, rates: EffectiveRates | None = None
) -> list[bg.BudgetStatus]:
    """Month-to-date from the month's rollups; the daily rate from the last week of closed
    intervals. Both end where the ledger ends (the last metered interval), not at ``now``:
    asked at 10:05 or 10:55, the forecast is the same. Held to effective cost (the budgets'
    ``cost``, by default) with a rate known, month-to-date is read from the month's records
    (the rollups hold list cost); ``rates`` default to those learned for ``region`` from bills."""
    month = f"{now:%Y-%m}"
    month_start, month_end = month_bounds(month)
    scopes = sorted({b.scope for b in config.budgets})
    if rates is None:
        rates = EffectiveRates({}, {region: ledger.learned_rates(region)}) if scopes and config.cost == "effective" else NO_RATES
    cost_of = coster(CostBasis(config.cost), rates)
    month_to_date: dict[tuple[str, str], Decimal] = {}
    recent_start = max(month_start, now - RATE_WINDOW - timedelta(days=1))
    if scopes and rates.known and config.cost == "effective":
        month_records = list(ledger.records(region, month_start, now))
        for record in month_records:
            for scope in scopes:
                group = (scope, group_value(record, scope))
                month_to_date[group] = month_to_date.get(group, Decimal(0)) + cost_of(record)
        records = [r for r in month_records if r.interval_start >= recent_start]  # the week's, read once
    else:
        for scope in scopes:
            for key, cost in ledger.rollups(region, month, scope).items():
                month_to_date[(scope, key)] = cost
        records = list(ledger.records(region, recent_start, now)) if scopes else []
    as_of = max((r.interval_end for r in records), default=None)
    recent: dict[tuple[str, str], Decimal] = {}
    first: datetime | None = None
    if as_of is not None:
        since = max(month_start, as_of - RATE_WINDOW)
        for record in records:
            if record.interval_start < since:
                continue
            first = record.interval_start if first is None else min(first, record.interval_start)
            for scope in scopes:
                group = (scope, group_value(record, scope))
                recent[group] = recent.get(group, Decimal(0)) + cost_of(record)
    # The rate over the days the ledger covers (a young ledger is not a quiet week).
    days = Decimal((as_of - first).total_seconds()) / 86400 if first is not None and as_of is not None else Decimal(0)
    rate = {key: cost / days for key, cost in recent.items()} if days > 0 else {}
    return bg.evaluate(config, month, month_to_date, rate, as_of or now, month_end)


def _team_of(status: bg.BudgetStatus, inventory: Inventory) -> str:
    budget = status.budget
    if budget.scope == "team":
        return budget.key
    if budget.scope == "endpoint":
        endpoint = next((e for e in inventory.endpoints if e.name == budget.key), None)
        return endpoint.tags.get("team", UNTAGGED_TEAM) if endpoint else UNTAGGED_TEAM
    if budget.scope == "component":
        component = next((c for c in inventory.components if c.name == budget.key), None)
        if component is not None:
            endpoint = next((e for e in inventory.endpoints if e.name == component.endpoint_name), None)
            return component.tags.get("team") or (endpoint.tags.get("team") if endpoint else None) or UNTAGGED_TEAM
    return UNTAGGED_TEAM


def prepare(
    aws: AwsContext, ledger: Ledger, store: ReportStore | None, settings: NotifySettings, now: datetime
) -> Prepared:
    """The messages due now; without a report store, budgets only."""
    prepared = Prepared()
    report = store.latest(aws.place) if store is not None else None
    if store is not None and report is None:
        log.warning("no idle report stored for %s: nothing to report", aws.place)
    if report is not None:
        prepared.report_scanned_at = report["scanned_at"]
        taken = actions_taken(aws, store, report["scanned_at"]) if store is not None else []
        digests = idle_digests(report, aws.place, report["scanned_at"], taken)
        if digests:
            pk, _ = sent_key(aws.place, digests[0].state_key)
            done = ledger.sent(pk)
            prepared.messages += [(d, []) for d in digests if sent_key(aws.place, d.state_key)[1] not in done]

    inventory = collect_inventory(aws)
    tagged, problems = bg.from_tags(inventory)
    try:
        document = load_budget_config(aws, settings)
    except InputError as exc:
        if not settings.unreadable_budgets_are_problems:
            raise
        document, problems = bg.BudgetConfig(), [*problems, str(exc)]
    config = bg.merge(document, tagged, problems)
    if any(b.account_id for b in config.budgets):  # some budgets are one account's
        config = bg.for_account(config, aws.account_id or home_account(aws))
    prepared.problems = list(config.problems)
    prepared.statuses = budget_statuses(ledger, aws.place, config, now)
    month = f"{now:%Y-%m}"
    done = ledger.sent(sent_key(aws.place, ("budget", month))[0])
    for status in prepared.statuses:
        budget = status.budget
        new = [t for t in status.crossed if f"{budget.scope}#{budget.key}#{t}" not in done]
        actual = [t for t in new if t != bg.FORECAST]
        team = _team_of(status, inventory)
        # One alert per budget and run: for the highest threshold newly crossed; the lower
        # ones and the forecast ride along (its body states the forecast too).
        top = max(actual, key=int) if actual else bg.FORECAST if bg.FORECAST in new else None
        if top is not None:
            others: list[tuple[str, ...]] = [("budget", month, budget.scope, budget.key, t) for t in new if t != top]
            prepared.messages.append((budget_alert(status, top, team, aws.place, now), others))
    if store is not None and now.day == 1:  # on the 1st (UTC): each team's statement of the month just ended
        prepared.messages += [(s, []) for s in monthly_statements(ledger, aws.place, report, now)]
    return prepared


def monthly_statements(ledger: Ledger, where: str, report: dict[str, Any] | None, now: datetime) -> list[Notification]:
    """The statement of every team with costs in the month before ``now``'s, in plain text (at
    effective cost where a bill taught a rate, list price elsewhere), but for those already
    sent (``SENT#<place>#statement#<month>``, one item per team). The idle waste is what the
    latest idle report says (not known without one). The month is metered until its last
    record's end (as budgets read the ledger: Query only)."""
    month = previous_month(now)
    done = ledger.sent(sent_key(where, ("statement", month))[0])
    start, end = month_bounds(month)
    records = list(ledger.records(where, start, end))
    rates = EffectiveRates({}, {where: ledger.learned_rates(where)})  # effective cost, as chargeback's default
    statements = build_statements(
        records,
        month,
        cost_of=coster(CostBasis.EFFECTIVE, rates),
        idle=idle_from_report(report) if report is not None else None,
        metered_until=max((r.interval_end for r in records), default=None),
    )
    cost = CostBasis.EFFECTIVE.value if rates.known else CostBasis.LIST.value
    return [statement_message(replace(s, cost=cost), where) for s in statements if s.team not in done]


def actions_taken(aws: AwsContext, store: ReportStore, scanned_at: str) -> list[ActionRecord]:
    """What remediation did that the digest of the report scanned at ``scanned_at`` tells of:
    actions planned from a scan after the previous stored report's, up to this one's."""
    records = ActionHistory(aws.client("dynamodb"), store.table_name, aws.retry).records(aws.place)
    if not records:
        return []
    previous = store.scanned_before(aws.place, scanned_at)
    return actions_between(
        records, parse_utc(previous, "report.scanned_at") if previous else None, parse_utc(scanned_at, "report.scanned_at")
    )


def send(publisher: Publisher, ledger: Ledger, region: str, topic_arn: str, prepared: Prepared, now: datetime) -> int:
    """Publish each message at most once: claim it in the table (a conditional write), publish,
    then record it as sent with the thresholds it stands for. A publish that failed for
    certain frees the claim; one whose outcome is unknown (a 5xx, a lost reply) keeps it, so
    no run sends it again until the claim is stale. Returns the number published."""
    expires = int((now + SENT_RETENTION).timestamp())
    published = 0
    for notification, also in prepared.messages:
        pk, sk = sent_key(region, notification.state_key)
        claim = ledger.claim(pk, sk, now, expires)
        if claim is None:
            continue  # sent already, or another run is sending it
        try:
            message_id = publisher.publish(notification.publish_request(topic_arn))
        except AwsError as exc:
            if not ambiguous(exc):
                ledger.settle_claim(pk, sk, claim, FAILED, expires)
            raise
        ledger.settle_claim(pk, sk, claim, SENT, expires, message_id)
        published += 1
        for state in also:
            ledger.mark_sent(*sent_key(region, state), expires)
    return published
