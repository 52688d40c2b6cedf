"""The monthly statement of one team (pure): what a team lead forwards to finance.

A team's month of cost records in; out, a :class:`Statement`: totals by model and by
endpoint, the daily cost of every day of the month, the idle waste, the corrections, and,
where a bill was given, the bill against the meter. The team of a record is its ``team``
tag, ``(untagged)`` when it has none, as in chargeback; models and endpoints are named as
chargeback shows them (``(unallocated capacity)`` for GPU capacity no component held). Money
stays Decimal throughout, so the statement's total equals ``chargeback --by team`` for the
same month to the micro-dollar.

What a record costs is a parameter, ``cost_of`` (the list cost by default), so another
measure of cost (effective cost after discounts) can be plugged in without touching this.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from spendwatch.core.chargeback import shown_group
from spendwatch.core.errors import InputError
from spendwatch.core.ledger import group_value
from spendwatch.core.metering import CostRecord
from spendwatch.core.money import format_money
from spendwatch.core.timestamps import format_utc, month_bounds, parse_utc

ZERO = Decimal(0)
CostOf = Callable[[CostRecord], Decimal]


def list_cost(record: CostRecord) -> Decimal:
    """The default ``cost_of``: the record's cost at list price, as metered."""
    return record.cost_usd


@dataclass(frozen=True)
class BillComparison:
    """One endpoint's month: what the bill charged against what spendwatch metered."""

    endpoint_name: str
    billed_usd: Decimal
    metered_usd: Decimal

    @property
    def difference_usd(self) -> Decimal:
        """Billed minus metered: positive when the bill charged more than was metered."""
        return self.billed_usd - self.metered_usd


@dataclass(frozen=True)
class IdleResources:
    """What an idle scan reported idle, and since when: endpoint and component names to the
    instant they went idle (None: idle for as long as the statement covers). Only records of
    these resources from that instant on count as idle waste."""

    endpoints: Mapping[str, datetime | None] = field(default_factory=dict)
    components: Mapping[str, datetime | None] = field(default_factory=dict)
    scanned_at: str | None = None
    """The scan the names come from (``2026-11-30T06:00:00Z``), shown on the statement."""

    @classmethod
    def of_names(cls, names: Collection[str], scanned_at: str | None = None) -> IdleResources:
        """Resources by name alone (endpoint or component), idle the whole month."""
        idle = dict.fromkeys(names)
        return cls(idle, idle, scanned_at)

    def holds(self, record: CostRecord) -> bool:
        """Whether ``record`` is idle waste: its endpoint, or its component, was idle then
        (a record of an idle endpoint is, whatever component it is of)."""
        for names, name in ((self.endpoints, record.endpoint_name), (self.components, record.inference_component_name)):
            if name is not None and name in names:
                since = names[name]
                if since is None or record.interval_start >= since:
                    return True
        return False


def idle_from_report(report: Mapping[str, Any]) -> IdleResources:
    """The idle resources of a stored idle scan report (``ScanReport.to_json``). A resource
    idle with no traffic seen at all in the history the scan read is counted from the start
    of that history (or its creation, if later): a lower bound, as in the idle digest."""
    scanned_at = parse_utc(report["scanned_at"], "report.scanned_at")
    history_hours = int(report.get("history_hours") or report.get("lookback_hours") or 24)
    found: dict[str, dict[str, datetime | None]] = {"endpoints": {}, "components": {}}
    for kind, entries, name_key in (
        ("endpoints", report.get("endpoints", []), "endpoint_name"),
        ("components", report.get("inference_components", []), "inference_component_name"),
    ):
        for entry in entries:
            if entry.get("status") != "idle":
                continue
            if entry.get("idle_since"):
                since = parse_utc(entry["idle_since"], "idle_since")
            else:
                created = parse_utc(entry["created_at"], "created_at") if entry.get("created_at") else None
                since = scanned_at - timedelta(hours=history_hours)
                since = max(since, created) if created is not None else since
            found[kind][entry[name_key]] = since
    return IdleResources(found["endpoints"], found["components"], report["scanned_at"])


@dataclass(frozen=True)
class DailyCost:
    day: date
    cost_usd: Decimal | None
    """None: the day is not metered (yet): after the ledger's end, or before it began."""


@dataclass(frozen=True)
class Corrections:
    """Records appended by settlement (``correction`` > 0): how many, and what they add."""

    count: int
    net_usd: Decimal


@dataclass(frozen=True)
class IdleWaste:
    total_usd: Decimal
    by_resource: tuple[tuple[str, Decimal], ...]
    """``endpoint`` or ``endpoint/component``, costliest first."""
    scanned_at: str | None


@dataclass(frozen=True)
class Statement:
    team: str
    month: str
    start: datetime
    end: datetime
    total_usd: Decimal
    by_model: tuple[tuple[str, Decimal], ...]
    by_endpoint: tuple[tuple[str, Decimal], ...]
    daily: tuple[DailyCost, ...]
    idle: IdleWaste | None
    """None: no idle scan was given, so the idle waste is not known."""
    corrections: Corrections
    reconciled: tuple[BillComparison, ...] | None
    """None: no bill was given."""
    records: int
    metered_until: datetime | None
    cost: str = "list"
    """``list`` (on-demand prices) or ``effective`` (effective rates where known: ``core.effective``)."""

    @property
    def metered_days(self) -> int:
        return sum(1 for d in self.daily if d.cost_usd is not None)

    @property
    def complete(self) -> bool:
        """Whether the ledger covers the whole month."""
        return self.metered_until is not None and self.metered_until >= self.end

    def to_json(self) -> dict[str, Any]:
        """The figures, money as decimal strings with six places."""
        return {
            "team": self.team,
            "month": self.month,
            "start": format_utc(self.start),
            "end": format_utc(self.end),
            "metered_until": format_utc(self.metered_until) if self.metered_until else None,
            "records": self.records,
            "cost": self.cost,
            "total_cost_usd": format_money(self.total_usd),
            "by_model": [{"key": k, "cost_usd": format_money(v)} for k, v in self.by_model],
            "by_endpoint": [{"key": k, "cost_usd": format_money(v)} for k, v in self.by_endpoint],
            "daily": [
                {"day": d.day.isoformat(), "cost_usd": None if d.cost_usd is None else format_money(d.cost_usd)}
                for d in self.daily
            ],
            "idle_waste": None
            if self.idle is None
            else {
                "cost_usd": format_money(self.idle.total_usd),
                "scanned_at": self.idle.scanned_at,
                "by_resource": [{"key": k, "cost_usd": format_money(v)} for k, v in self.idle.by_resource],
            },
            "corrections": {"count": self.corrections.count, "net_cost_usd": format_money(self.corrections.net_usd)},
            "reconciled": None
            if self.reconciled is None
            else [
                {
                    "endpoint": c.endpoint_name,
                    "billed_usd": format_money(c.billed_usd),
                    "metered_usd": format_money(c.metered_usd),
                    "difference_usd": format_money(c.difference_usd),
                }
                for c in self.reconciled
            ],
        }


def check_team(team: str, field_name: str = "--team") -> str:
    if not isinstance(team, str) or not team.strip():
        raise InputError(field_name, "name a team (the value of the team tag, or '(untagged)')")
    return team


def check_month(month: str, now: datetime, field_name: str = "--month") -> tuple[datetime, datetime]:
    """The month's bounds; a month that has not begun at ``now`` has no statement."""
    start, end = month_bounds(month)
    if start > now:
        raise InputError(
            field_name, f"{month} has not begun (it is {now:%Y-%m-%d} UTC): a statement covers a past or the current month"
        )
    return start, end


def previous_month(now: datetime) -> str:
    """The month that ended last: ``2026-11`` on any day of December 2026."""
    return f"{now.replace(day=1) - timedelta(days=1):%Y-%m}"


def team_of(record: CostRecord) -> str:
    return group_value(record, "team")


def _sorted(totals: Mapping[str, Decimal]) -> tuple[tuple[str, Decimal], ...]:
    return tuple(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))


def _add(totals: dict[str, Decimal], key: str, amount: Decimal) -> None:
    totals[key] = totals.get(key, ZERO) + amount


def build_statement(
    records: Iterable[CostRecord],
    team: str,
    month: str,
    *,
    cost_of: CostOf = list_cost,
    idle: IdleResources | Collection[str] | None = None,
    reconciled: Sequence[BillComparison] | None = None,
    metered_from: datetime | None = None,
    metered_until: datetime | None = None,
) -> Statement:
    """The statement of ``team`` for ``month`` (``YYYY-MM``) from ``records`` (any records:
    those of other teams and months are left out). ``idle``: what the idle scan reported
    (None: the idle waste is not known). ``metered_from`` / ``metered_until``: the span the
    ledger covers; days outside it are shown as not metered rather than as zero."""
    check_team(team)
    start, end = month_bounds(month)
    if idle is not None and not isinstance(idle, IdleResources):
        idle = IdleResources.of_names(idle)
    by_model: dict[str, Decimal] = {}
    by_endpoint: dict[str, Decimal] = {}
    by_day: dict[date, Decimal] = {}
    wasted: dict[str, Decimal] = {}
    total = corrected = ZERO
    count = corrections = 0
    for record in records:
        if not start <= record.interval_start < end or team_of(record) != team:
            continue
        cost = cost_of(record)
        count += 1
        total += cost
        _add(by_model, shown_group(record, "model"), cost)
        _add(by_endpoint, shown_group(record, "endpoint"), cost)
        day = record.interval_start.date()
        by_day[day] = by_day.get(day, ZERO) + cost
        if record.correction > 0:
            corrections += 1
            corrected += cost
        if idle is not None and idle.holds(record):
            name = record.endpoint_name
            if record.inference_component_name and record.endpoint_name not in idle.endpoints:
                name = f"{record.endpoint_name}/{record.inference_component_name}"
            _add(wasted, name, cost)
    daily = []
    day_start = start
    while day_start < end:
        metered = (metered_from is None or day_start + timedelta(days=1) > metered_from) and (
            metered_until is None or day_start < metered_until
        )
        daily.append(DailyCost(day_start.date(), by_day.get(day_start.date(), ZERO) if metered else by_day.get(day_start.date())))
        day_start += timedelta(days=1)
    return Statement(
        team=team,
        month=month,
        start=start,
        end=end,
        total_usd=total,
        by_model=_sorted(by_model),
        by_endpoint=_sorted(by_endpoint),
        daily=tuple(daily),
        idle=None if idle is None else IdleWaste(sum(wasted.values(), ZERO), _sorted(wasted), idle.scanned_at),
        corrections=Corrections(corrections, corrected),
        reconciled=None if reconciled is None else tuple(sorted(reconciled, key=lambda c: c.endpoint_name)),
        records=count,
        metered_until=metered_until,
    )


def build_statements(
    records: Iterable[CostRecord],
    month: str,
    *,
    cost_of: CostOf = list_cost,
    idle: IdleResources | Collection[str] | None = None,
    metered_from: datetime | None = None,
    metered_until: datetime | None = None,
) -> list[Statement]:
    """One statement per team with records in ``month``, by team name."""
    start, end = month_bounds(month)
    teams: dict[str, list[CostRecord]] = {}
    for record in records:
        if start <= record.interval_start < end:
            teams.setdefault(team_of(record), []).append(record)
    return [
        build_statement(
            teams[team],
            team,
            month,
            cost_of=cost_of,
            idle=idle,
            metered_from=metered_from,
            metered_until=metered_until,
        )
        for team in sorted(teams)
    ]
