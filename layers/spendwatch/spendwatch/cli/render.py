"""Tables for people (rich). JSON for programs comes from the reports' ``to_json``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

from spendwatch.core.budgets import BudgetStatus
from spendwatch.core.chargeback import UNALLOCATED, Chargeback
from spendwatch.core.idle import ScanReport, Status
from spendwatch.core.ledger import UNTAGGED
from spendwatch.core.metering import CostRecord
from spendwatch.core.money import display_pct, display_rate, display_usd, format_money
from spendwatch.core.notifications import Notification
from spendwatch.core.reconcile import Reconciliation
from spendwatch.core.timestamps import format_utc
from spendwatch.core.wording import count
from spendwatch.services.estate import Outcome
from spendwatch.services.meter import MeterRun, SettleRun

_ORDER = {Status.IDLE: 0, Status.NEW: 1, Status.ACTIVE: 2, Status.NOT_IN_SERVICE: 3, Status.EXCLUDED: 4}
_STYLE = {
    Status.IDLE: "bold red",
    Status.NEW: "cyan",
    Status.ACTIVE: "green",
    Status.NOT_IN_SERVICE: "yellow",
    Status.EXCLUDED: "dim",
}


@dataclass(frozen=True)
class Col:
    """A table column: a resource ``name`` is never cut; columns with a higher ``drop`` are
    left out first when the console is too narrow for the names and the rest."""

    header: str
    justify: JustifyMethod = "left"
    name: bool = False
    drop: int = 0


OTHER_MAX_WORD = 14  # a folded column is kept at least as wide as its longest word, up to this


def _cell_width(cell: str) -> int:
    return max((Text.from_markup(line).cell_len for line in cell.split("\n")), default=0)


def _word_width(cell: str) -> int:
    return max((len(word) for word in Text.from_markup(cell).plain.split()), default=0)


def fitted_table(
    console: Console,
    cols: Sequence[Col],
    rows: Sequence[Sequence[str]],
    total: Sequence[str] | None = None,
    **options: Any,
) -> Table:
    """A table whose name columns are shown whole at the console's width: the other columns
    fold, and optional ones are dropped (highest ``drop`` first) until the names and the
    longest word of every other column fit. ``total`` is a last row, in a section of its own."""
    every = [*rows, total] if total is not None else list(rows)
    cells = [[c.header] + [row[i] for row in every] for i, c in enumerate(cols)]
    needs = [
        max(_cell_width(x) for x in column) if col.name else min(max(_word_width(x) for x in column), OTHER_MAX_WORD)
        for col, column in zip(cols, cells, strict=True)
    ]
    keep = list(range(len(cols)))

    def needed() -> int:
        return 1 + sum(3 + needs[i] for i in keep)

    while needed() > console.width and any(cols[i].drop for i in keep):
        keep.remove(max((i for i in keep if cols[i].drop), key=lambda i: (cols[i].drop, i)))
    # Widths are shared out here, not by rich (which evens out the widest columns and would
    # cut a word it need not): the widest folded column gives a character until all fit.
    widths = {i: max(_cell_width(x) for x in cells[i]) for i in keep}
    room = console.width - (1 + 3 * len(keep))
    while sum(widths.values()) > room:
        wider = [i for i in keep if not cols[i].name and widths[i] > needs[i]]
        if not wider:
            break
        widths[max(wider, key=lambda i: (widths[i], i))] -= 1
    fits = sum(widths.values()) <= room
    table = Table(**options)
    for i in keep:
        col = cols[i]
        if col.name:
            table.add_column(col.header, justify=col.justify, no_wrap=True, min_width=needs[i])
        else:
            table.add_column(col.header, justify=col.justify, overflow="fold", width=widths[i] if fits else None)
    for row in rows:
        table.add_row(*(row[i] for i in keep))
    if total is not None:
        table.add_section()
        table.add_row(*(total[i] for i in keep))
    return table


def scan_table(report: ScanReport, console: Console) -> None:
    cols = [
        Col("Status", name=True),
        Col("Resource", name=True),
        Col("On endpoint", name=True),
        Col("Invocations", "right", drop=3),
        Col("$/h", "right"),
        Col("Idle since", drop=2),
        Col("Owner", drop=1),
        Col("Suggested action", drop=4),
    ]
    rows = []
    for e in report.endpoints:
        rows.append(
            (
                _ORDER[e.status],
                0,
                e.endpoint.name,
                e.status,
                e.endpoint.name,
                "",
                e.invocations,
                e.cost.usd_per_hour,
                e.idle_since,
                e.owner,
                e.suggested_action,
            )
        )
    for c in report.components:
        rows.append(
            (
                _ORDER[c.status],
                1,
                c.component.name,
                c.status,
                c.component.name,
                c.component.endpoint_name,
                c.invocations,
                c.cost.usd_per_hour,
                c.idle_since,
                c.owner,
                c.suggested_action,
            )
        )
    cells = [
        [
            f"[{_STYLE[status]}]{status.value}[/]",
            resource,
            endpoint,
            f"{invocations:,}",
            display_usd(cost, 3),  # one column, one number of places
            f"{idle_since:%Y-%m-%d %H:%M}Z" if idle_since else ("none seen" if status is Status.IDLE else ""),
            owner or UNTAGGED,
            action or "",
        ]
        for _, _, _, status, resource, endpoint, invocations, cost, idle_since, owner, action in sorted(rows, key=lambda r: r[:3])
    ]
    title = f"Idle scan of {report.region} at {report.scanned_at:%Y-%m-%d %H:%M}Z, last {report.lookback_hours} h"
    console.print(fitted_table(console, cols, cells, title=title, title_justify="left"))
    idle_cost = report.idle_hourly_cost
    console.print(
        f"[bold]{count(len(report.idle_endpoints), 'idle endpoint')} and "
        f"{count(len(report.idle_components), 'idle inference component')} burn {display_rate(idle_cost)} "
        f"({display_usd(idle_cost * 24 * 30)} a month).[/bold]",
        highlight=False,
    )
    if report.unpriced_instance_types:
        console.print(
            "[yellow]Unpriced instance types (not counted above): "
            + ", ".join(report.unpriced_instance_types)
            + ". Add them with --prices FILE or refresh with --refresh-prices.[/yellow]"
        )


def record_json(r: CostRecord, home_account: str = "") -> dict[str, Any]:
    return {
        "account_id": r.account_id or home_account or None,
        "region": r.region,
        "interval_start": format_utc(r.interval_start),
        "interval_end": format_utc(r.interval_end),
        "endpoint_name": r.endpoint_name,
        "variant_name": r.variant_name,
        "kind": r.kind.value,
        "inference_component_name": r.inference_component_name,
        "model_name": r.model_name,
        "instance_type": r.instance_type,
        "gpu_seconds": str(r.gpu_seconds),
        "core_seconds": str(r.core_seconds),
        "instance_seconds": str(r.instance_seconds),
        "cost_usd": format_money(r.cost_usd),
        "basis": r.basis.value,
        "price_usd_per_hour": str(r.price_usd_per_hour),
        "price_source": r.price_source,
        "tags": r.tags,
        "charge_class": "correction" if r.correction else "",
        "correction": r.correction,
    }


def settle_json(run: SettleRun) -> dict[str, Any]:
    return {
        "day": f"{run.day:%Y-%m-%d}",
        "corrections": [record_json(r) for r in run.corrections],
        "added": [record_json(r) for r in run.added],
        "written": run.written,
        "difference_usd": format_money(sum((r.cost_usd for r in run.corrections + run.added), Decimal(0))),
        "findings": [{"endpoint_name": f.endpoint_name, "kind": f.kind, "message": f.message} for f in run.findings],
    }


def meter_json(run: MeterRun, home_account: str = "") -> dict[str, Any]:
    return {
        "records": [record_json(r, home_account) for r in run.records],
        "findings": [{"endpoint_name": f.endpoint_name, "kind": f.kind, "message": f.message} for f in run.findings],
        "intervals": len(run.metered),
        "written": run.written,
        "already_in_ledger": run.existing,
        "total_cost_usd": format_money(sum((r.cost_usd for r in run.records), Decimal(0))),
    }


def meter_summary(run: MeterRun, console: Console) -> None:
    total = sum((r.cost_usd for r in run.records), Decimal(0))
    console.print(
        f"{count(len(run.metered), 'interval')}, {count(len(run.records), 'record')} "
        f"({run.written:,} written, {run.existing:,} already in the "
        f"ledger), {display_usd(total)} in all.",
        highlight=False,
    )
    for finding in run.findings:
        console.print(f"[yellow]{finding.endpoint_name}: {finding.kind}: {finding.message}[/yellow]", highlight=False)


def meter_table(run: MeterRun, console: Console) -> None:
    cols = [
        Col("Endpoint", name=True),
        Col("Resource", name=True),
        Col("Kind"),
        Col("GPU-hours", "right", drop=2),
        Col("Cost", "right"),
        Col("Basis", drop=1),
    ]
    totals: dict[tuple[str, str, str, str], list[Decimal]] = {}
    for r in run.records:
        key = (r.endpoint_name, r.inference_component_name or "-", r.kind.value, r.basis.value)
        acc = totals.setdefault(key, [Decimal(0), Decimal(0)])
        acc[0] += r.gpu_seconds
        acc[1] += r.cost_usd
    cells = [
        [endpoint, resource, kind, f"{gpu_s / 3600:,.2f}", display_usd(cost), basis]
        for (endpoint, resource, kind, basis), (gpu_s, cost) in sorted(totals.items())
    ]
    console.print(fitted_table(console, cols, cells, title="Cost by resource", title_justify="left"))
    meter_summary(run, console)


def chargeback_caption(result: Chargeback) -> str | None:
    """What the two catch-all groups hold, when the table has them."""
    keys = {key for key, _ in result.groups}
    notes = []
    if UNTAGGED in keys:
        what = f"no {result.by}" if result.by in ("endpoint", "component", "model") else f"no {result.by} tag"
        notes.append(f"{UNTAGGED}: records with {what}")
    if UNALLOCATED in keys:
        notes.append(f"{UNALLOCATED}: GPU capacity of an endpoint that no inference component held")
    if result.cost == "effective" and result.at_list:
        whole = result.at_list == result.total
        notes.append(
            "At list price: no effective rate is known (reconcile a bill, or set effective_rates)"
            if whole
            else f"Effective cost; {display_usd(result.at_list)} of it at list price, no effective rate being known"
        )
    elif result.cost == "list":
        notes.append("At list (on-demand) price")
    return "\n".join(f"{note}." for note in notes) if notes else None


def chargeback_table(result: Chargeback, console: Console) -> None:
    total = result.total
    cells = [[key, display_usd(cost), f"{display_pct(cost / total * 100)} %" if total else "-"] for key, cost in result.groups]
    table = fitted_table(
        console,
        [Col(result.by.capitalize(), name=True), Col("Cost (USD)", "right"), Col("Share", "right")],
        cells,
        ["[bold]Total[/]", f"[bold]{display_usd(total)}[/]", "100.0 %" if total else "-"],
        title=f"Chargeback by {result.by}, {result.start:%Y-%m-%d %H:%M} to {result.end:%Y-%m-%d %H:%M} UTC",
        title_justify="left",
        caption=chargeback_caption(result),
        caption_justify="left",
        min_width=min(64, console.width),
    )
    console.print(table)


def budgets_json(statuses: list[BudgetStatus]) -> dict[str, Any]:
    return {
        "budgets": [
            {
                "scope": s.budget.scope,
                "key": s.budget.key,
                "month": s.month,
                "budget_usd": format_money(s.budget.monthly_usd),
                "month_to_date_usd": format_money(s.month_to_date),
                "forecast_usd": format_money(s.forecast),
                "used_pct": f"{s.used_pct:.1f}",
                "forecast_pct": f"{s.forecast_pct:.1f}",
                "thresholds_crossed": list(s.crossed),
                "source": s.budget.source,
            }
            for s in statuses
        ]
    }


def budgets_table(statuses: list[BudgetStatus], console: Console) -> None:
    if not statuses:
        console.print("No budgets set (tag spendwatch:budget-usd, or --budgets FILE).")
        return
    cols = [
        Col("Budget", name=True),
        Col("Monthly", "right"),
        Col("Month to date", "right"),
        Col("Used", "right", drop=1),
        Col("Forecast", "right"),
        Col("Crossed"),
    ]
    cells = []
    for s in statuses:
        style = "red" if any(t in ("100", "forecast") for t in s.crossed) else "yellow" if s.crossed else ""
        cells.append(
            [
                s.budget.name,
                display_usd(s.budget.monthly_usd),
                display_usd(s.month_to_date),
                f"{display_pct(s.used_pct)} %",
                display_usd(s.forecast),
                f"[{style}]{', '.join(t if t == 'forecast' else t + ' %' for t in s.crossed)}[/]" if style else "",
            ]
        )
    as_of = statuses[0].as_of
    title = f"Budgets, {statuses[0].month}" + (f" (closed intervals until {as_of:%Y-%m-%d %H:%M}Z)" if as_of else "")
    console.print(fitted_table(console, cols, cells, title=title, title_justify="left", min_width=min(64, console.width)))


def messages_preview(messages: list[Notification], console: Console) -> None:
    for n in messages:
        console.print(
            f"[bold]{n.subject}[/bold]  [dim](kind={n.kind}, severity={n.severity}, team={n.team})[/dim]", highlight=False
        )
        console.print(n.email, highlight=False, markup=False)
        console.print()


def scan_json(outcome: Outcome[ScanReport], home_account: str) -> dict[str, Any]:
    """One account region: its report as the contract has it. Several (an organization):
    their rows together, each naming its account and region, and each one's summary."""
    reports = [report.to_json(home_account) for _, report in outcome.results]
    extra = {"failures": [f.to_json() for f in outcome.failures], "api_calls": dict(sorted(outcome.calls.items()))}
    if len(reports) == 1 and not outcome.failures:
        return {**reports[0], **extra}
    first = reports[0] if reports else {}
    return {
        "scanned_at": first.get("scanned_at"),
        "lookback_hours": first.get("lookback_hours"),
        "history_hours": first.get("history_hours"),
        "estates": [{"account_id": r["account_id"], "region": r["region"], "summary": r["summary"]} for r in reports],
        "endpoints": [row for r in reports for row in r["endpoints"]],
        "inference_components": [row for r in reports for row in r["inference_components"]],
        **extra,
    }


def meter_outcome_json(outcome: Outcome[MeterRun], home_account: str) -> dict[str, Any]:
    """Every account region's records together, each naming its account and region."""
    records: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    intervals = written = existing = 0
    total = Decimal(0)
    for target, run in outcome.results:
        records.extend(record_json(r, home_account) for r in run.records)
        findings.extend(
            {"account_id": target.account_id, "region": target.region, "endpoint_name": f.endpoint_name, "kind": f.kind,
             "message": f.message}
            for f in run.findings
        )
        intervals = max(intervals, len(run.metered))
        written += run.written
        existing += run.existing
        total += sum((r.cost_usd for r in run.records), Decimal(0))
    return {
        "records": records,
        "findings": findings,
        "intervals": intervals,
        "written": written,
        "already_in_ledger": existing,
        "total_cost_usd": format_money(total),
        "failures": [f.to_json() for f in outcome.failures],
        "api_calls": dict(sorted(outcome.calls.items())),
    }


def reconcile_table(result: Reconciliation, console: Console) -> None:
    """The endpoint days that need a look (every day with --format json), the effective
    rates learned, and the findings."""
    shown = [d for d in result.days if d.status != "ok" or (d.rate is not None and d.rate != 1)]

    def usd(value: Decimal | None) -> str:
        return "-" if value is None else display_usd(value)

    cells = [
        [
            d.endpoint_name,
            d.day.isoformat(),
            d.instance_type,
            usd(d.billed),
            usd(d.metered),
            usd(d.difference),
            "-" if d.rate is None else str(d.rate.normalize()),
            d.status,
        ]
        for d in shown
    ]
    title = (
        f"Reconciliation with {result.bill.source} ({result.bill.format}): {count(len(result.days), 'endpoint day')}, "
        f"{count(len(shown), 'shown')} (the others agree at list price)"
    )
    table = fitted_table(
        console,
        [
            Col("Endpoint", name=True),
            Col("Day"),
            Col("Instance type", drop=2),
            Col("Billed", "right"),
            Col("Metered (list)", "right"),
            Col("Difference", "right"),
            Col("Rate", "right", drop=1),
            Col("Status"),
        ],
        cells,
        [
            "[bold]Total[/]",
            "",
            "",
            f"[bold]{display_usd(result.total('billed'))}[/]",
            f"[bold]{display_usd(result.total('metered'))}[/]",
            "",
            "",
            "",
        ],
        title=title,
        title_justify="left",
    )
    console.print(table)
    for rate in result.rates:
        console.print(
            f"Effective rate of {rate.instance_type} ({rate.place}), learned for {rate.month}: {rate.rate.normalize()}",
            highlight=False,
        )
    if not result.findings:
        console.print("[green]Nothing to report: the bill and the ledger agree.[/green]")
    for finding in result.findings:
        console.print(f"[yellow]- {finding}[/yellow]", highlight=False)
    if result.skipped_days:
        until = format_utc(result.compared_until) if result.compared_until else "-"
        skipped = count(result.skipped_days, "bill endpoint day")
        console.print(f"[dim]{skipped} after {until} not compared: not metered yet.[/dim]")
