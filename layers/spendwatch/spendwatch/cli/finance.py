"""Finance commands: ``export --format focus`` (the ledger as a FOCUS dataset) and
``reconcile --bill FILE`` (the ledger against the account's own bill)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from spendwatch.aws.athena import AthenaBill, check_table
from spendwatch.aws.ledger import Ledger
from spendwatch.cli import bills
from spendwatch.cli.commands import (
    TIMESTAMP,
    _aws,
    _ledger_places,
    _price_settings,
    _progress,
    _report_failures,
    _table,
    aws_options,
    cli,
    format_option,
    org_options,
    price_options,
    stderr,
    stdout_console,
    table_option,
)
from spendwatch.cli.render import reconcile_table
from spendwatch.core import focus
from spendwatch.core.errors import InputError
from spendwatch.core.money import display_usd
from spendwatch.core.timestamps import month_bounds
from spendwatch.services.estate import Outcome
from spendwatch.services.meter import check_range
from spendwatch.services.prices import effective_rates
from spendwatch.services.reconcile import reconcile as run_reconcile

SORT_BY = (
    "ChargePeriodStart",
    "SubAccountId",
    "RegionId",
    "ResourceName",
    "x_VariantName",
    "x_SpendwatchKind",
    "AllocatedResourceName",
    "x_Correction",
)
period_options = [
    click.option("--month", help="Calendar month, YYYY-MM (UTC)."),
    click.option("--start", type=TIMESTAMP, help="Range start (instead of --month)."),
    click.option("--end", type=TIMESTAMP, help="Range end, exclusive."),
]


def _period(
    month: str | None, start: datetime | None, end: datetime | None, required: bool = True
) -> tuple[datetime, datetime] | None:
    if month is not None and (start is not None or end is not None):
        raise click.UsageError("--month: give --month, or --start and --end, not both")
    if month is not None:
        return month_bounds(month)
    if start is None and end is None and not required:
        return None
    if start is None or end is None:
        raise click.UsageError("--month: give --month YYYY-MM, or both --start and --end")
    check_range(start, end, 60, None)
    return start, end


def _with_period(command: Any) -> Any:
    for option in reversed(period_options):
        command = option(command)
    return command


@cli.command()
@aws_options
@table_option
@org_options
@click.option(
    "--format",
    "dataset",
    type=click.Choice(["focus"]),
    required=True,
    help="focus: a FinOps FOCUS 1.3 cost and usage dataset (every FOCUS 1.2 mandatory column).",
)
@_with_period
@click.option(
    "--output",
    "-o",
    default="-",
    show_default=True,
    help="Where to write: FILE.csv, FILE.csv.gz or FILE.parquet; - for CSV on stdout.",
)
@click.option("--billing-account-id", help="BillingAccountId (default: the account spendwatch runs in).")
@price_options
def export(
    dataset: str,
    month: str | None,
    start: datetime | None,
    end: datetime | None,
    output: str,
    billing_account_id: str | None,
) -> None:
    """Write the ledger as a FOCUS cost and usage dataset: one row per record, each inference
    component's share an allocated charge of its endpoint's instance charge (README: FOCUS)."""
    bounds = _period(month, start, end)
    assert bounds is not None
    kind = bills.output_kind(output, "--output")
    bills.check_writable(output, "--output")
    if billing_account_id is not None and not (billing_account_id.isdigit() and len(billing_account_id) == 12):
        raise InputError("--billing-account-id", f"an AWS account id is 12 digits, got {billing_account_id!r}")
    with _aws() as aws, _progress(stderr.is_terminal) as progress:
        ledger = Ledger(aws.client("dynamodb"), _table(aws), aws.retry)
        places, failures, home = _ledger_places(aws, ledger, progress)
        rates = effective_rates(aws, ledger, [p for *_, p in places], _price_settings())
        context = focus.ExportContext(home, billing_account_id or home, rates)
        with bills.FocusWriter(output, kind) as writer:
            for _, _, where in places:
                for day_start, day_end in _days(*bounds):  # a day at a time: memory stays flat over a month
                    rows = focus.rows(ledger.records(where, day_start, day_end), context)
                    rows.sort(key=lambda r: tuple(r[c] for c in SORT_BY))
                    writer.write(rows)
    where_to = "stdout" if output == "-" else output
    stderr.print(
        f"{writer.count:,} FOCUS rows to {where_to}: ListCost {display_usd(writer.list_cost)}, "
        f"EffectiveCost {display_usd(writer.effective_cost)}",
        highlight=False,
    )
    _report_failures(Outcome(failures=failures))


def _days(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    out = []
    cursor = start
    while cursor < end:
        following = min(end, cursor.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1))
        out.append((cursor, following))
        cursor = following
    return out


@cli.command()
@aws_options
@table_option
@org_options
@click.option(
    "--bill",
    "bill_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The account's bill as AWS Data Exports writes it: FOCUS 1.2 or CUR 2.0, CSV or Parquet, gzip or not.",
)
@click.option(
    "--athena-table",
    help="Instead of --bill: the FOCUS 1.2 export's Athena table (database.table), queried in place (needs a period).",
)
@click.option("--athena-workgroup", default="primary", show_default=True, help="The Athena workgroup to query in.")
@_with_period
@click.option(
    "--tolerance",
    default="0.01",
    show_default=True,
    help="A difference of an endpoint day is reported beyond this share of its cost (0.01 = 1 %%) and beyond one cent.",
)
@click.option(
    "--save-rates/--no-save-rates",
    default=True,
    show_default=True,
    help="Remember the effective rates learned, for chargeback, export and statements (--cost effective).",
)
@price_options
@format_option("table", "json")
def reconcile(
    bill_file: Path | None,
    athena_table: str | None,
    athena_workgroup: str,
    month: str | None,
    start: datetime | None,
    end: datetime | None,
    tolerance: str,
    save_rates: bool,
    output_format: str,
) -> None:
    """Compare the ledger with the bill, per endpoint per day: billed, metered list cost,
    difference and effective rate; endpoints one side has and the other lacks are named."""
    if (bill_file is None) == (athena_table is None):
        raise click.UsageError("--bill: give --bill FILE or --athena-table DATABASE.TABLE (one of them)")
    bounds = _period(month, start, end, required=athena_table is not None)
    share = bills.parse_tolerance(tolerance, "--tolerance")
    if athena_table is not None:
        check_table(athena_table, "--athena-table")
    bill = bills.read_bill(bill_file, "--bill", bounds) if bill_file is not None else None
    with _aws() as aws, _progress(stderr.is_terminal) as progress:
        if bill is None:
            assert bounds is not None
            assert athena_table is not None
            last = bounds[1] - timedelta(microseconds=1)
            athena = AthenaBill(aws.client("athena"), aws.retry)
            bill = athena.read(athena_table, athena_workgroup, bounds[0].date(), last.date() + timedelta(days=1))
        ledger = Ledger(aws.client("dynamodb"), _table(aws), aws.retry)
        places, failures, home = _ledger_places(aws, ledger, progress)
        result = run_reconcile(ledger, places, home, bill, share, aws.now)
        if output_format == "json":  # shown first: a role that may not write still sees the comparison
            click.echo(json.dumps(result.to_json(), indent=2))
        else:
            reconcile_table(result, stdout_console())
        if save_rates and result.rates:
            ledger.save_rates(result.rates, aws.now)
            stderr.print(f"{len(result.rates)} effective rates saved (RATE# items of table {_table(aws)})", highlight=False)
    _report_failures(Outcome(failures=failures))

