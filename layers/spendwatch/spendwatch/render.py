"""Tables for people (rich). JSON for programs comes from the reports' ``to_json``."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from rich.console import Console
from rich.table import Table

from spendwatch.idle import ScanReport, Status

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
