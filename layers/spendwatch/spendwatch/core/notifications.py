"""The messages spendwatch sends, built from a stored scan report and budget statuses. Pure.

Every message is one SNS Publish with ``MessageStructure: json``: ``default`` is an AWS
Chatbot custom notification (Slack, Teams), ``email`` is plain text. Message attributes
``kind`` (idle-report, budget, statement), ``severity`` (info, warning, critical) and ``team`` let
subscriptions filter. A message never exceeds SNS's 256 KiB: long reports are cut with
"and N more", never dropped.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from spendwatch.core.advice import digest_lines
from spendwatch.core.budgets import FORECAST, BudgetStatus
from spendwatch.core.errors import InputError
from spendwatch.core.ledger import UNTAGGED
from spendwatch.core.money import display_pct, display_rate, display_usd, format_money
from spendwatch.core.remediation import ActionRecord, restore_command
from spendwatch.core.statement import Statement
from spendwatch.core.timestamps import parse_utc
from spendwatch.core.wording import count, plural

MAX_MESSAGE_BYTES = 256 * 1024
SAFETY_BYTES = 2 * 1024
SUBJECT_MAX = 99
CHAT_LINES = 30  # Slack and Teams show a digest, email carries the whole list
UNTAGGED_TEAM = UNTAGGED  # one spelling with the tables: the team of resources with no team tag


@dataclass(frozen=True)
class Notification:
    kind: str
    severity: str
    team: str
    subject: str
    chatbot: dict[str, Any]
    email: str
    state_key: tuple[str, ...]
    """What marks this message as sent (so a retried run does not send it twice)."""

    def publish_request(self, topic_arn: str) -> dict[str, Any]:
        return {
            "TopicArn": topic_arn,
            "Subject": self.subject,
            "Message": json.dumps({"default": json.dumps(self.chatbot, separators=(",", ":")), "email": self.email}),
            "MessageStructure": "json",
            "MessageAttributes": {
                "kind": {"DataType": "String", "StringValue": self.kind},
                "severity": {"DataType": "String", "StringValue": self.severity},
                "team": {"DataType": "String", "StringValue": self.team},
            },
        }


def request_bytes(request: dict[str, Any]) -> int:
    """What SNS counts against its limit: the message, the subject and the attributes."""
    size = len(request["Message"].encode()) + len(request.get("Subject", "").encode())
    for name, attribute in request.get("MessageAttributes", {}).items():
        size += len(name.encode()) + len(attribute["DataType"].encode()) + len(attribute["StringValue"].encode())
    return size


def subject(text: str) -> str:
    line = " ".join(text.split())  # one line
    return line if len(line) <= SUBJECT_MAX else line[: SUBJECT_MAX - 1] + "…"


def _usd(value: Decimal | str | None, places: int = 2) -> str:
    return display_usd(None if value is None else Decimal(value), places)


def _chatbot(
    title: str,
    description: str,
    next_steps: list[str],
    keywords: list[str],
    thread: str,
    summary: str,
    event_type: str,
    resources: list[str],
    context: dict[str, str],
) -> dict[str, Any]:
    return {
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": title,
            "description": description,
            "nextSteps": next_steps,
            "keywords": keywords,
        },
        "metadata": {
            "threadId": thread,
            "summary": summary,
            "eventType": event_type,
            "relatedResources": resources,
            "additionalContext": context,
        },
    }


# -- the nightly idle report ----------------------------------------------------------------


@dataclass(frozen=True)
class IdleLine:
    resource: str
    kind: str  # endpoint | component
    endpoint: str
    status: str
    idle_since: str | None
    hourly: Decimal | None
    wasted: Decimal | None
    wasted_is_lower_bound: bool
    action: str
    free_when_idle: bool = False
    """Serverless: billed per request, so idle costs nothing (no digest of its own)."""

    def text(self) -> str:
        since = f"idle since {self.idle_since}" if self.idle_since else "no traffic seen"
        where = f" on {self.endpoint}" if self.kind == "component" else ""
        wasted = "unknown" if self.wasted is None else ("at least " if self.wasted_is_lower_bound else "") + _usd(self.wasted)
        hourly = display_rate(self.hourly, "")
        return (
            f"{self.kind} {self.resource}{where}: {self.status}, {since}, {hourly}/h, {wasted} wasted since idle -> {self.action}"
        )

    def markdown(self) -> str:
        return "• " + self.text().replace(f"{self.kind} {self.resource}", f"*{self.resource}* ({self.kind})", 1)


def _action(entry: dict[str, Any], kind: str) -> str:
    if kind == "component":
        return "scale copies to zero"
    if entry.get("kind") == "serverless":
        return "delete (billed per request: no idle cost)"
    if entry.get("hosts_inference_components"):
        return "enable scale to zero"
    return "delete"


def idle_lines(report: dict[str, Any]) -> dict[str, list[IdleLine]]:
    """Idle resources of a stored report, by owning team, costliest first. Components of an
    idle endpoint are counted with it, not again on their own."""
    scanned_at = parse_utc(report["scanned_at"], "report.scanned_at")
    history_hours = int(report.get("history_hours") or report.get("lookback_hours") or 24)
    idle_endpoints = {e["endpoint_name"] for e in report["endpoints"] if e["status"] == "idle"}
    teams: dict[str, list[IdleLine]] = {}
    entries = [("endpoint", e) for e in report["endpoints"]] + [("component", c) for c in report["inference_components"]]
    for kind, entry in entries:
        if entry["status"] != "idle" or (kind == "component" and entry["endpoint_name"] in idle_endpoints):
            continue
        hourly = Decimal(entry["hourly_cost_usd"]) if entry.get("hourly_cost_usd") is not None else None
        since = entry.get("idle_since")
        if since:
            start, lower_bound = parse_utc(since, "idle_since"), False
        else:  # no traffic in the history looked at: at least that long, or since creation
            created = parse_utc(entry["created_at"], "created_at") if entry.get("created_at") else scanned_at
            start = max(created, scanned_at - timedelta(hours=history_hours))
            lower_bound = start != created
        hours = Decimal(max(0.0, (scanned_at - start).total_seconds())) / 3600
        line = IdleLine(
            resource=entry.get("inference_component_name") or entry["endpoint_name"],
            kind=kind,
            endpoint=entry["endpoint_name"],
            status=entry["status"],
            idle_since=since,
            hourly=hourly,
            wasted=None if hourly is None else hourly * hours,
            wasted_is_lower_bound=lower_bound,
            action=_action(entry, kind),
            free_when_idle=kind == "endpoint" and entry.get("kind") == "serverless",
        )
        teams.setdefault(entry.get("owner") or UNTAGGED_TEAM, []).append(line)
    for lines in teams.values():
        lines.sort(key=lambda line: (-(line.hourly or Decimal(0)), line.resource))
    return teams


def idle_digests(
    report: dict[str, Any], region: str, report_key: str, actions: Sequence[ActionRecord] = ()
) -> list[Notification]:
    """One digest per team with idle resources that cost something while idle. A resource
    that costs nothing idle (serverless) gets no digest: at most one info line in its
    team's digest, when the team has one. ``actions``: what remediation did since the last
    digest (``remediation.actions_between``), told in its owner's digest with its saving per
    month and how to undo it (a team with actions and nothing idle gets a digest of them)."""
    digests = []
    taken: dict[str, list[ActionRecord]] = {}
    for record in actions:
        taken.setdefault(record.owner or UNTAGGED_TEAM, []).append(record)
    teams = idle_lines(report)
    for team in taken:
        teams.setdefault(team, [])
    for team, every in sorted(teams.items()):
        lines = [line for line in every if not line.free_when_idle]
        free = [line.resource for line in every if line.free_when_idle]
        done = taken.get(team, [])
        if not lines and not done:
            continue
        hourly = sum((line.hourly or Decimal(0) for line in lines), Decimal(0))
        wasted = sum((line.wasted or Decimal(0) for line in lines), Decimal(0))
        headline = (
            f"{count(len(lines), 'idle SageMaker resource')} of team {team} {plural('burns', len(lines))} {display_rate(hourly)}"
            if lines
            else f"spendwatch acted on {count(len(done), 'idle SageMaker resource')} of team {team}"
        )
        digests.append(
            _fit(
                lambda shown, team=team, lines=lines, hourly=hourly, wasted=wasted, headline=headline, free=free, done=done: (
                    _idle_notification(team, lines, shown, hourly, wasted, headline, report, region, report_key, free, done)
                ),
                len(lines),
            )
        )
    return digests


def acted_lines(taken: Sequence[ActionRecord]) -> list[str]:
    """The actions remediation took, for a digest: each with its saving and its undo."""
    if not taken:
        return []
    saving = sum((r.monthly_saving_usd or Decimal(0) for r in taken), Decimal(0))
    out = [f"Actions taken since the last digest ({_usd(saving)} a month saved):"]
    for record in taken:
        monthly = "saving unknown (unpriced)" if record.monthly_saving_usd is None else f"saves {_usd(record.monthly_saving_usd)}"
        when = f"{record.done_at:%Y-%m-%d %H:%M}Z" if record.done_at else "?"
        undone = f" (since {record.status.value})" if record.status.value != "done" else ""
        out.append(
            f"- {record.kind.value} {record.name} at {when}{undone}: {monthly} a month; "
            f"to undo: {restore_command(record.name)}"
        )
    return out


def _idle_notification(
    team: str,
    lines: list[IdleLine],
    shown: int,
    hourly: Decimal,
    wasted: Decimal,
    headline: str,
    report: dict[str, Any],
    region: str,
    report_key: str,
    free: list[str],
    taken: Sequence[ActionRecord] = (),
) -> Notification:
    more = len(lines) - shown
    chat_lines = [line.markdown() for line in lines[: min(shown, CHAT_LINES)]]
    chat_more = len(lines) - len(chat_lines)
    description = "\n".join(chat_lines + ([f"…and {chat_more} more (full list in the email digest)"] if chat_more else []))
    free_line = (
        f"Info: {', '.join(free)} {plural('is', len(free))} idle too, at no idle cost (serverless, billed per request)."
        if free
        else ""
    )
    if free_line:
        description += "\n" + free_line
    advice = digest_lines(report.get("advice"), team, UNTAGGED_TEAM)  # stored by the nightly scan
    if advice:
        description += "\nRight-sizing advice for this team's endpoints: in the email digest (spendwatch advise)."
    actions = sorted({line.action for line in lines})
    acted = acted_lines(taken)
    if acted:
        description += f"\n{acted[0]} " + ", ".join(f"{r.kind.value} {r.name}" for r in taken[:CHAT_LINES])
        description += ". Undo one: spendwatch restore NAME."
    email = "\n".join(
        [
            f"spendwatch idle report for team {team}, {region}, scanned {report['scanned_at']} "
            f"(traffic window: last {report['lookback_hours']} h).",
            "",
            f"{headline}; {'at least ' if any(line.wasted_is_lower_bound for line in lines) else ''}"
            f"{_usd(wasted)} wasted since {plural('it', len(lines))} went idle.",
            "",
            *(f"- {line.text()}" for line in lines[:shown]),
            *([f"- and {more} more"] if more else []),
            *([free_line] if free_line else []),
            "",
            *(["Suggested actions: " + "; ".join(actions) + "."] if actions else []),
            "To keep a resource out of this report, tag it spendwatch:ignore=true.",
            *(["", *acted] if acted else []),
            *(["", *advice] if advice else []),
        ]
    )
    chatbot = _chatbot(
        title=f"Idle SageMaker resources: team {team}",
        description=f"{headline}.\n{description}",
        next_steps=[f"{a[0].upper()}{a[1:]}" for a in actions]
        + ["Tag spendwatch:ignore=true to exclude a resource"]
        + (["Undo an action: spendwatch restore NAME"] if taken else []),
        keywords=["spendwatch", "idle", team, region],
        thread=f"spendwatch-idle-{region}-{team}",
        summary=headline,
        event_type="IdleReport",
        resources=[line.resource for line in lines[: min(shown, CHAT_LINES)]],
        context={"region": region, "scanned_at": str(report["scanned_at"]), "idle_hourly_cost_usd": format_money(hourly)},
    )
    return Notification(
        kind="idle-report",
        severity="warning" if hourly > 0 else "info",
        team=team,
        subject=subject(f"[spendwatch] {headline}"),
        chatbot=chatbot,
        email=email,
        state_key=("idle", report_key, team),
    )


def _fit(build: Any, total: int) -> Notification:
    """The notification with as many lines as fit under SNS's limit (all, when they do)."""
    notification: Notification = build(total)
    if (
        request_bytes(notification.publish_request("arn:aws:sns:xx-xxxx-0:000000000000:" + "x" * 256))
        <= MAX_MESSAGE_BYTES - SAFETY_BYTES
    ):
        return notification
    low, high = 0, total
    while low < high:  # the most lines that fit
        middle = (low + high + 1) // 2
        candidate: Notification = build(middle)
        if (
            request_bytes(candidate.publish_request("arn:aws:sns:xx-xxxx-0:000000000000:" + "x" * 256))
            <= MAX_MESSAGE_BYTES - SAFETY_BYTES
        ):
            low = middle
        else:
            high = middle - 1
    return build(low)  # type: ignore[no-any-return]


# -- budget alerts ----------------------------------------------------------------------------


def _severity(threshold: str) -> str:
    if threshold == FORECAST:
        return "warning"
    pct = int(threshold)
    return "critical" if pct >= 100 else "warning" if pct >= 80 else "info"


def _breakdown(scope: str) -> str:
    return "component" if scope in ("team", "cost-center", "project") else scope


def budget_alert(status: BudgetStatus, threshold: str, team: str, region: str, now: datetime) -> Notification:
    budget = status.budget
    if threshold == FORECAST:
        headline = (
            f"{budget.name} is forecast to spend {_usd(status.forecast)} in {status.month}, "
            f"{display_pct(status.forecast_pct, 0)}% of its {_usd(budget.monthly_usd)} budget"
        )
    else:
        headline = (
            f"{budget.name} has spent {_usd(status.month_to_date)} in {status.month}: "
            f"{display_pct(status.used_pct, 0)}% of its {_usd(budget.monthly_usd)} budget (threshold {threshold}%)"
        )
    details = [
        f"Budget: {_usd(budget.monthly_usd)} a month for {budget.name} (from {budget.source}).",
        f"Month to date ({status.month}, until {status.as_of or now:%Y-%m-%d %H:%M}Z): "
        f"{_usd(status.month_to_date)} ({display_pct(status.used_pct)}%).",
        f"Forecast for the month at the recent daily rate (closed intervals only): {_usd(status.forecast)} "
        f"({display_pct(status.forecast_pct)}%).",
        f"Thresholds crossed: {', '.join(t if t == FORECAST else t + '%' for t in status.crossed)}.",
    ]
    next_steps = [
        "Review idle resources in the nightly idle report",
        f"Break the spend down: spendwatch chargeback --month {status.month} --by {_breakdown(budget.scope)}",
    ]
    return Notification(
        kind="budget",
        severity=_severity(threshold),
        team=team,
        subject=subject(f"[spendwatch] {headline}"),
        chatbot=_chatbot(
            title=f"Budget {'forecast' if threshold == FORECAST else threshold + '%'}: {budget.name}",
            description=headline + ".\n" + "\n".join(details),
            next_steps=next_steps,
            keywords=["spendwatch", "budget", budget.scope, budget.key],
            thread=f"spendwatch-budget-{region}-{status.month}-{budget.scope}-{budget.key}",
            summary=headline,
            event_type="BudgetThreshold",
            resources=[budget.key] if budget.scope in ("endpoint", "component") else [],
            context={
                "region": region,
                "month": status.month,
                "threshold": threshold,
                "month_to_date_usd": format_money(status.month_to_date),
                "budget_usd": format_money(budget.monthly_usd),
            },
        ),
        email="\n".join([headline + ".", "", *details, "", "Next steps:", *(f"- {s}" for s in next_steps)]),
        state_key=("budget", status.month, budget.scope, budget.key, threshold),
    )


TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z]{2}(-[a-z]+)+-\d{1,2}:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")


def check_topic_arn(value: str, field_name: str) -> str:
    if not TOPIC_ARN.match(value):
        raise InputError(field_name, f"expected an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>), got {value!r}")
    return value


# -- the monthly statement ----------------------------------------------------------------------


def statement_message(statement: Statement, region: str) -> Notification:
    """The month just ended, for one team, in plain text (SNS carries no HTML page): totals
    by model and endpoint, idle waste, corrections, and the command that makes the full page.
    Sent once per team and month (``state_key``)."""
    lines = len(statement.by_model) + len(statement.by_endpoint)
    return _fit(lambda shown: _statement_notification(statement, region, shown), lines)


def _basis_text(cost: str) -> str:
    return "at effective cost (the rates learned from the last reconciled bill)." if cost == "effective" else "at list price."


def _statement_notification(statement: Statement, region: str, shown: int) -> Notification:
    team, month = statement.team, statement.month
    command = f"spendwatch statement --month {month} --team {shlex.quote(team)}"
    headline = f"Team {team} spent {_usd(statement.total_usd)} on SageMaker inference in {month}"
    until = (
        f"metered until {statement.metered_until:%Y-%m-%d %H:%M}Z" if statement.metered_until is not None else "metered"
    )
    coverage = "the whole month" if statement.complete else f"{statement.metered_days} days of it"

    def table(title: str, rows: tuple[tuple[str, Decimal], ...], limit: int) -> list[str]:
        more = len(rows) - limit
        return [
            f"{title}:",
            *(f"- {key}: {_usd(cost)}" for key, cost in rows[:limit]),
            *([f"- and {more} more"] if more > 0 else []),
        ]

    models = min(shown, len(statement.by_model))
    endpoints = max(0, min(shown - models, len(statement.by_endpoint)))
    if statement.idle is None:
        idle = "Idle waste: not known (no idle scan report was stored)."
    else:
        idle = (
            f"Idle waste: {_usd(statement.idle.total_usd)} spent on resources the idle scan of "
            f"{statement.idle.scanned_at} reported idle, from when they went idle."
        )
    corrections = (
        f"Corrections: {count(statement.corrections.count, 'correction record')} appended by settlement, "
        f"net {_usd(statement.corrections.net_usd)} (included above)."
        if statement.corrections.count
        else "Corrections: none."
    )
    details = [
        f"Total: {_usd(statement.total_usd)} ({format_money(statement.total_usd)} USD) from "
        f"{count(statement.records, 'cost record')}, {until} ({coverage}), "
        + _basis_text(statement.cost),
        "",
        *table("By model", statement.by_model, models),
        "",
        *table("By endpoint", statement.by_endpoint, endpoints),
        "",
        idle,
        corrections,
    ]
    email = "\n".join(
        [
            f"spendwatch monthly statement for team {team}, {month} ({region}).",
            "",
            *details,
            "",
            f"The full statement, with the daily cost as a chart, for finance: {command}",
        ]
    )
    chat = [f"• *{key}*: {_usd(cost)}" for key, cost in statement.by_model[: min(models, CHAT_LINES)]]
    return Notification(
        kind="statement",
        severity="info",
        team=team,
        subject=subject(f"[spendwatch] {month} statement: {headline}"),
        chatbot=_chatbot(
            title=f"Monthly statement: team {team}, {month}",
            description="\n".join([f"{headline}.", "By model:", *chat, idle, corrections]),
            next_steps=[f"The full statement for finance: {command}"],
            keywords=["spendwatch", "statement", team, month, region],
            thread=f"spendwatch-statement-{region}-{month}-{team}",
            summary=headline,
            event_type="MonthlyStatement",
            resources=[key for key, _ in statement.by_endpoint[: min(endpoints, CHAT_LINES)]],
            context={"region": region, "month": month, "total_cost_usd": format_money(statement.total_usd)},
        ),
        email=email,
        state_key=("statement", month, team),
    )
