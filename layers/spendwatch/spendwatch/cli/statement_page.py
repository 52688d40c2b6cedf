"""The monthly statement as one self-contained HTML page: no script, no stylesheet, font or
image fetched from anywhere; the daily cost is an inline SVG drawn by matplotlib.

matplotlib is in the CLI extra only (never in the Lambda layer), and is imported when a chart
is drawn, so other commands do not pay for its import. Every string that comes from a tag,
a name or a bill is escaped. Each figure a program may want to read carries a stable id and
its exact amount in ``data-usd`` (six decimal places, as JSON and CSV print money); people
read the rounded amount beside it.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from html import escape

from spendwatch.core.chargeback import UNALLOCATED
from spendwatch.core.money import display_pct, display_usd, format_money
from spendwatch.core.statement import DailyCost, Statement
from spendwatch.core.timestamps import format_utc

SVG_HASH_SALT = "spendwatch-statement"
"""matplotlib names the SVG's clip paths from a hash salted with this (the default salt is
random), so the same statement always gives the same page."""
BAR = "#2f6690"
UNMETERED = "#d9d9d9"

STYLE = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1b1b1b;
       margin: 0; background: #f6f7f9; }
main { max-width: 980px; margin: 24px auto; padding: 24px 32px; background: #fff; border: 1px solid #dde1e6; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; border-bottom: 1px solid #dde1e6; padding-bottom: 4px; }
p.meta, .note { color: #555; margin: 4px 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eceff2; vertical-align: baseline; }
thead th:first-child { width: 50%; }
td.usd, th.usd { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.exact { color: #666; font-size: 12px; }
tfoot th, tfoot td { border-top: 2px solid #1b1b1b; font-weight: 600; }
table.summary { width: auto; min-width: 50%; }
table.summary th { font-weight: normal; color: #444; }
#total { font-size: 20px; font-weight: 700; }
.negative { color: #8a1c1c; }
figure { margin: 0; }
figure svg { width: 100%; height: auto; }
figcaption { color: #555; font-size: 12px; }
details { margin-top: 8px; }
footer { margin-top: 32px; color: #777; font-size: 12px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
@media print { body { background: #fff; } main { border: 0; margin: 0; max-width: none; } details { display: none; } }
"""


def _usd_cells(amount: Decimal) -> str:
    """Two cells: the amount for people, and the exact one to the micro-dollar."""
    negative = " negative" if amount < 0 else ""
    return (
        f'<td class="usd{negative}" data-usd="{format_money(amount)}">{escape(display_usd(amount))}</td>'
        f'<td class="usd exact">{format_money(amount)}</td>'
    )


def _share(amount: Decimal, total: Decimal) -> str:
    return f"{display_pct(amount * 100 / total)}%" if total else "–"


def _breakdown(table_id: str, heading: str, rows: tuple[tuple[str, Decimal], ...], total: Decimal) -> str:
    body = "\n".join(
        f'<tr data-key="{escape(key)}"><td>{escape(key)}</td>{_usd_cells(cost)}<td class="usd">{_share(cost, total)}</td></tr>'
        for key, cost in rows
    )
    empty = '<tr><td colspan="4">No cost this month.</td></tr>' if not rows else ""
    return f"""<table id="{table_id}">
<thead><tr><th scope="col">{heading}</th><th scope="col" class="usd">Cost</th><th scope="col" class="usd">USD (exact)</th>
<th scope="col" class="usd">Share</th></tr></thead>
<tbody>
{body}{empty}
</tbody>
<tfoot><tr><th scope="row">Total</th>{_usd_cells(total)}<td class="usd">{_share(total, total)}</td></tr></tfoot>
</table>"""


def _runs(daily: tuple[DailyCost, ...]) -> list[tuple[int, int]]:
    """The runs of days not metered, as (first, last) 1-based days of the month."""
    runs: list[tuple[int, int]] = []
    for number, day in enumerate(daily, start=1):
        if day.cost_usd is None:
            if runs and runs[-1][1] == number - 1:
                runs[-1] = (runs[-1][0], number)
            else:
                runs.append((number, number))
    return runs


def daily_chart_svg(statement: Statement) -> str:
    """The month's daily cost as an SVG element (no XML prolog): a bar per metered day, zero
    days included; days not metered are shaded and labelled, never drawn as zero. The chart
    holds no user-supplied text (tag values never reach matplotlib's text or math parser).
    Floats are used for drawing only: every figure on the page comes from the Decimals."""
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    days = len(statement.daily)
    metered = [(n, float(d.cost_usd)) for n, d in enumerate(statement.daily, start=1) if d.cost_usd is not None]
    with matplotlib.rc_context(
        {"svg.hashsalt": SVG_HASH_SALT, "svg.fonttype": "none", "font.family": "sans-serif", "font.size": 9}
    ):
        figure = Figure(figsize=(9.2, 2.9), layout="constrained")
        FigureCanvasSVG(figure)
        axes = figure.add_subplot()
        for first, last in _runs(statement.daily):
            axes.axvspan(first - 0.5, last + 0.5, color=UNMETERED, alpha=0.5, linewidth=0, hatch="//", fill=False)
            label = "not yet metered" if not metered or first > metered[-1][0] else "not metered"
            if last - first >= 2:
                axes.text(
                    (first + last) / 2,
                    0.5,
                    label,
                    transform=axes.get_xaxis_transform(),
                    ha="center",
                    va="center",
                    color="#777",
                    fontsize=8,
                    parse_math=False,
                )
        if metered:
            axes.bar([n for n, _ in metered], [c for _, c in metered], width=0.75, color=BAR)
        axes.set_xlim(0.5, days + 0.5)
        axes.set_xticks(range(1, days + 1))
        axes.tick_params(axis="x", labelsize=7, length=2)
        axes.set_xlabel(f"day of {statement.month}")
        axes.set_ylabel("USD per day")
        axes.yaxis.set_major_locator(MaxNLocator(nbins=5, min_n_ticks=3))
        axes.yaxis.set_major_formatter(
            StrMethodFormatter("{x:,.0f}" if max((abs(c) for _, c in metered), default=0) >= 10 else "{x:,.2f}")
        )
        low, high = min((c for _, c in metered), default=0.0), max((c for _, c in metered), default=0.0)
        axes.set_ylim(min(0.0, low), high * 1.05 if high > 0 else 1)  # a net negative day (a correction) shows below 0
        axes.grid(axis="y", color="#e3e3e3", linewidth=0.6)
        axes.set_axisbelow(True)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        out = io.StringIO()
        figure.savefig(out, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = out.getvalue()
    svg = svg[svg.index("<svg") :]  # the element alone: no XML declaration or DOCTYPE inside HTML
    return re.sub(r"^<svg ", '<svg role="img" aria-labelledby="daily-chart-caption" ', svg, count=1)


def _daily_table(daily: tuple[DailyCost, ...]) -> str:
    rows = "\n".join(
        f'<tr data-day="{d.day.isoformat()}">'
        f"<td>{d.day.isoformat()}</td>"
        + (_usd_cells(d.cost_usd) if d.cost_usd is not None else '<td class="usd" data-usd="">not metered</td><td></td>')
        + "</tr>"
        for d in daily
    )
    return f"""<table id="daily-table">
<thead><tr><th scope="col">Day (UTC)</th><th scope="col" class="usd">Cost</th>
<th scope="col" class="usd">USD (exact)</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>"""


def _idle(statement: Statement) -> str:
    idle = statement.idle
    if idle is None:
        return (
            '<section id="idle-waste" data-known="false">\n<h2>Idle waste</h2>\n'
            "<p>Not known: no idle scan report was found for this account region. "
            "The nightly idle scan stores one (or run <code>spendwatch scan --store</code>).</p>\n</section>"
        )
    rows = "\n".join(
        f'<tr data-key="{escape(name)}"><td>{escape(name)}</td>{_usd_cells(cost)}</tr>' for name, cost in idle.by_resource
    )
    listing = (
        f"""<table id="idle-table">
<thead><tr><th scope="col">Resource</th><th scope="col" class="usd">Cost while idle</th>
<th scope="col" class="usd">USD (exact)</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>"""
        if idle.by_resource
        else "<p>None of this team's resources the scan found idle cost anything this month.</p>"
    )
    return f"""<section id="idle-waste" data-known="true" data-usd="{format_money(idle.total_usd)}">
<h2>Idle waste</h2>
<p>{escape(display_usd(idle.total_usd))} of this month's cost went to resources the idle scan of
{escape(idle.scanned_at or "unknown time")} reported idle, counted from when each went idle. Included in the total above.</p>
{listing}
</section>"""


def _corrections(statement: Statement) -> str:
    c = statement.corrections
    text = (
        f"{c.count} correction record{'s' if c.count != 1 else ''} appended when days were settled from final data "
        f"(late metrics, a changed price), net {escape(display_usd(c.net_usd))}; included in the totals above."
        if c.count
        else "None: no day of this month was corrected when settled."
    )
    return f"""<section id="corrections" data-count="{c.count}" data-usd="{format_money(c.net_usd)}">
<h2>Corrections</h2>
<p>{text}</p>
</section>"""


def _reconciliation(statement: Statement) -> str:
    if statement.reconciled is None:
        return (
            '<section id="reconciliation" data-bill="false">\n<h2>Reconciled with the bill</h2>\n'
            "<p>No bill was given: the figures are spendwatch's metering at list price, not yet compared "
            "with the AWS bill.</p>\n</section>"
        )
    billed = sum((c.billed_usd for c in statement.reconciled), Decimal(0))
    metered = sum((c.metered_usd for c in statement.reconciled), Decimal(0))
    rows = "\n".join(
        f'<tr data-endpoint="{escape(c.endpoint_name)}" data-billed="{format_money(c.billed_usd)}" '
        f'data-metered="{format_money(c.metered_usd)}" data-difference="{format_money(c.difference_usd)}">'
        f"<td>{escape(c.endpoint_name)}</td>"
        f'<td class="usd">{escape(display_usd(c.billed_usd))}</td><td class="usd">{escape(display_usd(c.metered_usd))}</td>'
        f'<td class="usd{" negative" if c.difference_usd < 0 else ""}">{escape(display_usd(c.difference_usd))}</td></tr>'
        for c in statement.reconciled
    )
    return f"""<section id="reconciliation" data-bill="true"
 data-billed="{format_money(billed)}" data-metered="{format_money(metered)}">
<h2>Reconciled with the bill</h2>
<table id="reconciliation-table">
<thead><tr><th scope="col">Endpoint</th><th scope="col" class="usd">Billed</th><th scope="col" class="usd">Metered</th>
<th scope="col" class="usd">Billed − metered</th></tr></thead>
<tbody>
{rows}
</tbody>
<tfoot><tr><th scope="row">Total</th><td class="usd">{escape(display_usd(billed))}</td>
<td class="usd">{escape(display_usd(metered))}</td>
<td class="usd">{escape(display_usd(billed - metered))}</td></tr></tfoot>
</table>
</section>"""


def _coverage(statement: Statement) -> str:
    days = len(statement.daily)
    if statement.metered_until is None:
        return "The ledger holds no metered interval yet."
    until = f"metered until {format_utc(statement.metered_until)}"
    if statement.complete and statement.metered_days == days:
        return f"The whole month is metered ({until})."
    return f"{statement.metered_days} of the month's {days} days are metered ({until}); the others are shown as not metered."


def render_page(statement: Statement, where: str = "") -> str:
    """The statement as one HTML document. ``where``: the account region it covers, shown."""
    team, month = escape(statement.team), escape(statement.month)
    scope = f" in {escape(where)}" if where else ""
    command = escape(f"spendwatch statement --month {statement.month} --team {statement.team}")
    total = f'{escape(display_usd(statement.total_usd))}</td><td class="usd exact">{format_money(statement.total_usd)}'
    unallocated = (
        '<p class="note">(unallocated capacity): GPU capacity of an endpoint the team owns that no inference component held.</p>'
        if any(key == UNALLOCATED for key, _ in statement.by_model)
        else ""
    )
    idle_cell = (
        '<td class="usd" colspan="2" data-known="false">not known</td>'
        if statement.idle is None
        else _usd_cells(statement.idle.total_usd)
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="spendwatch">
<title>SageMaker inference statement: team {team}, {month}</title>
<style>{STYLE}</style>
</head>
<body>
<main id="statement" data-team="{team}" data-month="{month}" data-records="{statement.records}">
<header>
<h1>Monthly statement: team <span id="team">{team}</span>, <span id="month">{month}</span></h1>
<p class="meta">Amazon SageMaker inference{scope} in {month} (UTC days), as metered by spendwatch:
{statement.records} cost records. Money in US dollars, {_basis(statement)}.</p>
<p class="meta">{escape(_coverage(statement))}</p>
</header>

<section id="summary">
<h2>Summary</h2>
<table class="summary">
<tbody>
<tr><th scope="row">Total</th>
<td id="total" class="usd" data-total data-usd="{format_money(statement.total_usd)}">{total}</td></tr>
<tr><th scope="row">Idle waste (included)</th>{idle_cell}</tr>
<tr><th scope="row">Corrections (included)</th>{_usd_cells(statement.corrections.net_usd)}</tr>
</tbody>
</table>
</section>

<section id="daily">
<h2>Daily cost</h2>
<figure id="daily-chart">
{daily_chart_svg(statement)}
<figcaption id="daily-chart-caption">Cost per UTC day of {month}, USD. Shaded days are not metered.</figcaption>
</figure>
<details><summary>Daily figures</summary>
{_daily_table(statement.daily)}
</details>
</section>

<section id="models">
<h2>By model</h2>
{_breakdown("by-model", "Model", statement.by_model, statement.total_usd)}
{unallocated}
</section>

<section id="endpoints">
<h2>By endpoint</h2>
{_breakdown("by-endpoint", "Endpoint", statement.by_endpoint, statement.total_usd)}
</section>

{_idle(statement)}

{_corrections(statement)}

{_reconciliation(statement)}

<footer>Made by spendwatch with <code>{command}</code>. The total equals
<code>spendwatch chargeback --month {month} --by team</code> for team {team}.</footer>
</main>
</body>
</html>
"""


def _basis(statement: Statement) -> str:
    if statement.cost == "effective":
        return (
            "at effective cost (what is paid after Savings Plans and reservations, where the rate is known; "
            "list price elsewhere)"
        )
    return "at list (on-demand) price"
