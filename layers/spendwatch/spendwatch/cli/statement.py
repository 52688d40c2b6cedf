"""The monthly statement: `statement --month --team`, an HTML page for finance."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import click

from spendwatch.aws.ledger import Ledger
from spendwatch.aws.reports import ReportStore
from spendwatch.cli.bills import read_bill
from spendwatch.cli.commands import (
    _aws,
    _meter_all,
    _phase,
    _price_settings,
    _progress,
    _table,
    aws_options,
    cli,
    cost_option,
    price_options,
    stderr,
    table_option,
)
from spendwatch.core.effective import NO_RATES, CostBasis, coster
from spendwatch.core.errors import InputError
from spendwatch.core.money import display_usd
from spendwatch.core.statement import check_month, check_team
from spendwatch.core.timestamps import month_bounds
from spendwatch.services.estate import home_account
from spendwatch.services.prices import effective_rates
from spendwatch.services.reconcile import by_endpoint, reconcile
from spendwatch.services.scan import ScanSettings, run_scan
from spendwatch.services.statement import read_statement


def default_output(team: str, month: str) -> Path:
    """``statement-<team>-<month>.html``, the team's name made safe for a file name."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", team).strip("._") or "team"
    return Path(f"statement-{safe}-{month}.html")


@cli.command()
@aws_options
@table_option
@click.option("--month", required=True, help="Calendar month, YYYY-MM (UTC): a past month, or the current one so far.")
@click.option("--team", required=True, help="The team: the value of its team tag, or '(untagged)'.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Where to write the HTML page ('-' for stdout). Default: statement-<team>-<month>.html.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["html", "json"]),
    default="html",
    show_default=True,
    help="html: the page for finance; json: its figures on stdout, for programs.",
)
@cost_option
@click.option(
    "--bill",
    "bill_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The account's bill (FOCUS 1.2 or CUR 2.0, as for reconcile): the team's endpoints, billed against metered.",
)
@price_options
def statement(month: str, team: str, output: Path | None, output_format: str, cost: str, bill_file: Path | None) -> None:
    """A team's monthly statement for finance: totals by model and endpoint, the daily cost
    as a chart, idle waste and corrections, as one self-contained HTML page. Its total
    equals chargeback --by team for the month. With --fleet, the fleet is scanned and its
    history metered first."""
    check_team(team)
    month_bounds(month)  # a bad month fails before anything is read
    if output_format == "json" and output is not None:
        raise click.UsageError("--output: the JSON goes to stdout; --output is for the HTML page")
    to_stdout = output is not None and str(output) == "-"
    path = output or default_output(team, month)
    if not to_stdout and not path.resolve().parent.is_dir():  # before minutes of reading, not after
        raise InputError("--output", f"no such folder: {str(path.parent)!r}")
    bill = read_bill(bill_file, "--bill", month_bounds(month)) if bill_file is not None else None
    with _aws() as aws, _progress(stderr.is_terminal) as progress:
        check_month(month, aws.now)  # so does a month that has not begun
        ledger = Ledger(aws.client("dynamodb"), _table(aws), aws.retry)
        reports = ReportStore(aws.client("dynamodb"), _table(aws), aws.retry)
        if aws.emulator is not None:  # tonight's idle scan stored, the history metered, as the Lambdas would have
            report = run_scan(aws, ScanSettings(), progress=progress)
            reports.put(report.to_json(), report.scanned_at, report.place)
            _meter_all(aws, ledger, 60, progress)
        basis = CostBasis(cost)
        rates = NO_RATES if basis is CostBasis.LIST else effective_rates(aws, ledger, [aws.place], _price_settings())
        reconciled = None
        if bill is not None:
            home = home_account(aws)
            found = reconcile(ledger, [(aws.account_id or home, aws.region, aws.place)], home, bill, Decimal("0.01"), aws.now)
            reconciled = by_endpoint(found)
        with _phase(progress, "reading the ledger"):
            result = read_statement(ledger, reports, aws.place, team, month, cost_of=coster(basis, rates), reconciled=reconciled)
            result = replace(result, cost=basis.value)
            if reconciled is not None:  # the team's endpoints only
                result = replace(result, reconciled=tuple(c for c in reconciled if c.endpoint_name in dict(result.by_endpoint)))
        where = aws.place
    if output_format == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    from spendwatch.cli.statement_page import render_page  # matplotlib is imported only to draw a page

    page = render_page(result, where)
    if to_stdout:
        sys.stdout.write(page)
        return
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise InputError("--output", f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    click.echo(f"statement of team {team} for {month} ({display_usd(result.total_usd)}) written to {path}")
