"""Tables for people (rich). JSON for programs comes from the reports' ``to_json``."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from spendwatch.core.budgets import BudgetStatus
from spendwatch.core.chargeback import Chargeback
from spendwatch.core.idle import ScanReport, Status
from spendwatch.core.metering import CostRecord
from spendwatch.core.money import format_money
from spendwatch.core.notifications import Notification
from spendwatch.core.timestamps import format_utc
from spendwatch.services.meter import MeterRun, SettleRun

_ORDER = {Status.IDLE: 0, Status.NEW: 1, Status.ACTIVE: 2, Status.NOT_IN_SERVICE: 3, Status.EXCLUDED: 4}
_STYLE = {
    Status.IDLE: "bold red",
    Status.NEW: "cyan",
    Status.ACTIVE: "green",
    Status.NOT_IN_SERVICE: "yellow",
    Status.EXCLUDED: "dim",
}


def _usd(value: Decimal | None, places: str = "0.001") -> str:
    """Readable money for tables (JSON keeps six places)."""
    if value is None:
        return "unpriced"
    return f"${value.quantize(Decimal(places), rounding=ROUND_HALF_EVEN):,}"


def scan_table(report: ScanReport, console: Console) -> None:
    table = Table(
        title=f"Idle scan of {report.region} at {report.scanned_at:%Y-%m-%d %H:%M}Z, last {report.lookback_hours} h",
        title_justify="left",
    )
    for column, justify in (
        ("Status", "left"),
        ("Resource", "left"),
        ("On endpoint", "left"),
        ("Invocations", "right"),
        ("$/h", "right"),
        ("Idle since", "left"),
        ("Owner", "left"),
        ("Suggested action", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
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
    for _, _, _, status, resource, endpoint, invocations, cost, idle_since, owner, action in sorted(rows, key=lambda r: r[:3]):
        table.add_row(
            f"[{_STYLE[status]}]{status.value}[/]",
            resource,
            endpoint,
            f"{invocations:,}",
            _usd(cost),
            f"{idle_since:%Y-%m-%d %H:%M}Z" if idle_since else ("none seen" if status is Status.IDLE else ""),
            owner or "(untagged)",
            action or "",
        )
    console.print(table)
    idle_cost = report.idle_hourly_cost
    console.print(
        f"[bold]{len(report.idle_endpoints)} idle endpoints and {len(report.idle_components)} idle inference "
        f"components burn {_usd(idle_cost)}/h ({_usd(idle_cost * 24 * 30, '0.01')} a month).[/bold]"
    )
    if report.unpriced_instance_types:
        console.print(
            "[yellow]Unpriced instance types (not counted above): "
            + ", ".join(report.unpriced_instance_types)
            + ". Add them with --prices FILE or refresh with --refresh-prices.[/yellow]"
        )


def record_json(r: CostRecord) -> dict[str, Any]:
    return {
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


def meter_json(run: MeterRun) -> dict[str, Any]:
    return {
        "records": [record_json(r) for r in run.records],
        "findings": [{"endpoint_name": f.endpoint_name, "kind": f.kind, "message": f.message} for f in run.findings],
        "intervals": len(run.metered),
        "written": run.written,
        "already_in_ledger": run.existing,
        "total_cost_usd": format_money(sum((r.cost_usd for r in run.records), Decimal(0))),
    }


def meter_summary(run: MeterRun, console: Console) -> None:
    total = sum((r.cost_usd for r in run.records), Decimal(0))
    console.print(
        f"{len(run.metered)} intervals, {len(run.records)} records ({run.written} written, {run.existing} already in the "
        f"ledger), {_usd(total, '0.01')} in all."
    )
    for finding in run.findings:
        console.print(f"[yellow]{finding.endpoint_name}: {finding.kind}: {finding.message}[/yellow]", highlight=False)


def meter_table(run: MeterRun, console: Console) -> None:
    table = Table(title="Cost by resource", title_justify="left")
    for column, justify in (
        ("Endpoint", "left"),
        ("Resource", "left"),
        ("Kind", "left"),
        ("GPU-hours", "right"),
        ("Cost", "right"),
        ("Basis", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    totals: dict[tuple[str, str, str, str], list[Decimal]] = {}
    for r in run.records:
        key = (r.endpoint_name, r.inference_component_name or "-", r.kind.value, r.basis.value)
        acc = totals.setdefault(key, [Decimal(0), Decimal(0)])
        acc[0] += r.gpu_seconds
        acc[1] += r.cost_usd
    for (endpoint, resource, kind, basis), (gpu_s, cost) in sorted(totals.items()):
        table.add_row(endpoint, resource, kind, f"{gpu_s / 3600:,.2f}", _usd(cost, "0.000001"), basis)
    console.print(table)
    meter_summary(run, console)


def chargeback_table(result: Chargeback, console: Console) -> None:
    table = Table(
        title=f"Chargeback by {result.by}, {result.start:%Y-%m-%d %H:%M} to {result.end:%Y-%m-%d %H:%M} UTC",
        title_justify="left",
        min_width=64,
    )
    table.add_column(result.by.capitalize())
    table.add_column("Cost (USD)", justify="right")
    table.add_column("Share", justify="right")
    total = result.total
    for key, cost in result.groups:
        share = f"{cost / total * 100:.1f} %" if total else "-"
        table.add_row(key, format_money(cost), share)
    table.add_section()
    table.add_row("[bold]Total[/]", f"[bold]{format_money(total)}[/]", "100.0 %" if total else "-")
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
    table = Table(title=f"Budgets, {statuses[0].month}", title_justify="left", min_width=64)
    for column, justify in (
        ("Budget", "left"),
        ("Monthly", "right"),
        ("Month to date", "right"),
        ("Used", "right"),
        ("Forecast", "right"),
        ("Crossed", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for s in statuses:
        style = "red" if any(t in ("100", "forecast") for t in s.crossed) else "yellow" if s.crossed else ""
        table.add_row(
            s.budget.name,
            _usd(s.budget.monthly_usd, "0.01"),
            _usd(s.month_to_date, "0.01"),
            f"{s.used_pct:.1f} %",
            _usd(s.forecast, "0.01"),
            f"[{style}]{', '.join(t if t == 'forecast' else t + ' %' for t in s.crossed)}[/]" if style else "",
        )
    console.print(table)


def messages_preview(messages: list[Notification], console: Console) -> None:
    for n in messages:
        console.print(
            f"[bold]{n.subject}[/bold]  [dim](kind={n.kind}, severity={n.severity}, team={n.team})[/dim]", highlight=False
        )
        console.print(n.email, highlight=False, markup=False)
        console.print()
