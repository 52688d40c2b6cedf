"""The ``spendwatch`` command line. JSON goes to stdout alone; progress and logs to stderr.
Exit status: 0 done, 2 bad usage or bad input (naming the field or flag), 1 anything else."""

from __future__ import annotations

import csv
import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from spendwatch.aws.actions import ActionLog
from spendwatch.aws.ledger import Ledger
from spendwatch.aws.reports import ReportStore
from spendwatch.aws.session import AwsContext, open_aws
from spendwatch.aws.sns import Publisher
from spendwatch.cli.fleet import open_fleet
from spendwatch.cli.render import (
    budgets_json,
    budgets_table,
    chargeback_table,
    messages_preview,
    meter_outcome_json,
    meter_summary,
    meter_table,
    scan_json,
    scan_table,
    settle_json,
)
from spendwatch.core import focus
from spendwatch.core.accounts import DEFAULT_ROLE_NAME, Target, check_external_id, parse_regions
from spendwatch.core.budgets import parse_thresholds
from spendwatch.core.chargeback import BY_KEYS
from spendwatch.core.effective import NO_RATES, CostBasis
from spendwatch.core.errors import AwsError, InputError, SpendwatchError
from spendwatch.core.idle import ScanReport
from spendwatch.core.inventory import place
from spendwatch.core.ledger import GROUP_KEYS
from spendwatch.core.metering import validate_interval_minutes
from spendwatch.core.money import display_usd, format_money
from spendwatch.core.notifications import check_topic_arn
from spendwatch.core.timestamps import align_down, month_bounds, parse_utc
from spendwatch.core.wording import count as counted
from spendwatch.services.act import ActSettings, act
from spendwatch.services.advise import advice_for_scan
from spendwatch.services.chargeback import run_chargeback, run_org_chargeback
from spendwatch.services.estate import Failure, Outcome, Reach, for_each, home_account, targets
from spendwatch.services.meter import MeterRun, check_range, meter_as_scheduled, settle_day
from spendwatch.services.notify import NotifySettings, prepare, send
from spendwatch.services.prices import PriceSettings, effective_rates
from spendwatch.services.scan import DEFAULT_HISTORY_HOURS, DEFAULT_LOOKBACK_HOURS, ScanSettings, run_scan

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
stderr = Console(stderr=True)


def stdout_console() -> Console:
    """Tables fit the terminal (names are never cut: other columns fold or are left out).
    Piped, they are 150 columns wide unless $COLUMNS says otherwise."""
    probe = Console()
    if probe.is_terminal or os.environ.get("COLUMNS", "").isdigit():
        return probe
    return Console(width=max(probe.width, 150))


PRICE_CACHE = Path.home() / ".cache" / "spendwatch" / "prices.json"


TARGET = "spendwatch.target"


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Where a command runs (fleet, region, profile, endpoint URL, table) is kept aside, not passed."""
    ctx.meta.setdefault(TARGET, {})[param.name] = value
    return value


def aws_options(command: F) -> F:
    """--fleet, --region, --profile, --endpoint-url: on every command (read by ``_aws``)."""
    for option in reversed(
        [
            click.option(
                "--fleet",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Run against an emulated AWS seeded from this fleet spec instead of a real account.",
                expose_value=False,
                callback=_remember,
            ),
            click.option("--region", help="AWS region (default: the configured one).", expose_value=False, callback=_remember),
            click.option("--profile", help="AWS named profile.", expose_value=False, callback=_remember),
            click.option(
                "--endpoint-url", help="Custom AWS endpoint URL (e.g. a VPC endpoint).", expose_value=False, callback=_remember
            ),
        ]
    ):
        command = option(command)
    return command


def org_options(command: F) -> F:
    """--accounts, --organization, --regions, --role-name, --external-id: which accounts a
    command watches (read by ``_reach``)."""
    for option in reversed(
        [
            click.option(
                "--accounts",
                "accounts_file",
                type=click.Path(dir_okay=False, path_type=Path),
                help="JSON list of the accounts to watch: account id, role, regions (see README: Watching an AWS "
                "Organization).",
                expose_value=False,
                callback=_remember,
            ),
            click.option(
                "--organization",
                is_flag=True,
                help="Watch every active account of the AWS Organization (ListAccounts), through --role-name.",
                expose_value=False,
                callback=_remember,
            ),
            click.option(
                "--regions",
                help="Comma-separated regions to watch in each account (default: the region).",
                expose_value=False,
                callback=_remember,
            ),
            click.option(
                "--role-name",
                default=DEFAULT_ROLE_NAME,
                show_default=True,
                help="The member accounts' read-only role (member-role.yaml).",
                expose_value=False,
                callback=_remember,
            ),
            click.option(
                "--external-id",
                help="The member role's external id (default: the accounts file's, or $SPENDWATCH_MEMBER_EXTERNAL_ID).",
                expose_value=False,
                callback=_remember,
            ),
        ]
    ):
        command = option(command)
    return command


def _reach() -> Reach:
    given = click.get_current_context().meta.get(TARGET, {})
    if given.get("accounts_file") is not None and given.get("organization"):
        raise click.UsageError("--accounts: give --accounts FILE or --organization, not both")
    regions = parse_regions(given["regions"], "--regions") if given.get("regions") else ()
    external_id = given.get("external_id") or os.environ.get("SPENDWATCH_MEMBER_EXTERNAL_ID") or None
    if external_id is not None:
        check_external_id(external_id, "--external-id")
    return Reach(
        given.get("accounts_file"),
        bool(given.get("organization")),
        regions,
        given.get("role_name") or DEFAULT_ROLE_NAME,
        external_id,
    )


def _each(aws: AwsContext, job: Callable[[AwsContext, Target], T]) -> tuple[Outcome[T], str]:
    """Run ``job`` on every account region the flags name (the one of ``aws`` by default),
    with the account spendwatch runs in."""
    found = targets(aws, _reach())
    if found is None:
        before = Counter(aws.calls)
        outcome: Outcome[T] = Outcome()
        result = job(aws, Target("", aws.region))
        outcome.calls.update(Counter(aws.calls) - before)
        home = home_account(aws)  # after the work: only the output needs it
        outcome.results.append((Target(home, aws.region), result))
        return outcome, home
    return for_each(aws, found[0], found[1], job), home_account(aws)


def _report_failures(outcome: Outcome[Any]) -> None:
    """Each failed account region, by name; the run then exits 1 (the others' results stand)."""
    for failure in outcome.failures:
        stderr.print(
            f"[red]account {failure.target.account_id} region {failure.target.region} failed: {failure.error}[/red]",
            highlight=False,
        )
    if outcome.failures:
        raise SystemExit(1)


def hours_option(flag: str, most: int, default: int, text: str) -> Callable[[F], F]:
    return click.option(flag, type=click.IntRange(1, most), default=default, show_default=True, help=text)


def file_option(flag: str, dest: str, text: str) -> Callable[[F], F]:
    return click.option(flag, dest, type=click.Path(dir_okay=False, path_type=Path), help=text)


def price_options(command: F) -> F:
    """--prices, --prices-parameter, --refresh-prices: wherever prices are resolved (scan, meter)."""
    for option in reversed(
        [
            click.option(
                "--prices",
                "price_file",
                type=click.Path(dir_okay=False, path_type=Path),
                help="JSON price overrides (see README: Prices).",
                expose_value=False,
                callback=_remember,
            ),
            click.option(
                "--prices-parameter", help="SSM parameter holding JSON price overrides.", expose_value=False, callback=_remember
            ),
            click.option(
                "--refresh-prices",
                is_flag=True,
                help="Refresh prices from the AWS Price List API (cached a week).",
                expose_value=False,
                callback=_remember,
            ),
        ]
    ):
        command = option(command)
    return command


def format_option(*choices: str) -> Callable[[F], F]:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices),
        default="table",
        show_default=True,
        help="table for people; " + " or ".join(c for c in choices if c != "table") + " for programs.",
    )


cost_option = click.option(
    "--cost",
    type=click.Choice([b.value for b in CostBasis]),
    default=CostBasis.EFFECTIVE.value,
    show_default=True,
    help="list: on-demand prices; effective: what is really paid, where an effective rate is known "
    "(learned by reconcile, or effective_rates in --prices), list price elsewhere.",
)


table_option = click.option(
    "--table",
    help="Ledger table (default: $SPENDWATCH_TABLE_NAME). Ignored with --fleet.",
    expose_value=False,
    callback=_remember,
)


@contextmanager
def _aws() -> Iterator[AwsContext]:
    """The AWS the current command's flags name: the emulated one with --fleet, else a real account."""
    target = click.get_current_context().meta.get(TARGET, {})
    fleet, region, profile, endpoint_url = (target.get(k) for k in ("fleet", "region", "profile", "endpoint_url"))
    if fleet is not None and (region or profile or endpoint_url):
        raise click.UsageError(
            "--fleet runs against the emulated AWS: it cannot be combined with --region, --profile or --endpoint-url"
        )
    if fleet is not None:
        with open_fleet(fleet) as aws:
            yield aws
        return
    with open_aws(region, profile, endpoint_url) as aws:
        yield aws


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=stderr, transient=True
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update


@contextmanager
def _phase(progress: Callable[[str, int, int], None] | None, name: str) -> Iterator[None]:
    """One step shown on the progress display (when there is one) while it runs."""
    if progress is not None:
        progress(name, 0, 1)
    yield
    if progress is not None:
        progress(name, 1, 1)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="spendwatch")
@click.option("-v", "--verbose", is_flag=True, help="Log progress details to stderr.")
def cli(verbose: bool) -> None:
    """Keep Amazon SageMaker inference spend honest: what is idle, what each model costs."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )


@cli.command()
@aws_options
@table_option
@org_options
@hours_option("--lookback-hours", 24 * 63, DEFAULT_LOOKBACK_HOURS, "Traffic window ending now that decides idle or active.")
@hours_option("--history-hours", 24 * 455, DEFAULT_HISTORY_HOURS, "How far back to look for the last invocation (idle_since).")
@price_options
@click.option(
    "--store",
    is_flag=True,
    help="Also write the report to the table (--table or $SPENDWATCH_TABLE_NAME), as the nightly Lambda does, "
    "so that notify can send it.",
)
@format_option("table", "json")
def scan(
    lookback_hours: int,
    history_hours: int,
    store: bool,
    output_format: str,
) -> None:
    """Classify every endpoint and inference component as idle, active, new, excluded or
    not-in-service, with what each costs per hour."""
    settings = ScanSettings(
        lookback_hours=lookback_hours,
        history_hours=history_hours,
        prices=_price_settings(),
    )
    advice: dict[str, Any] = {}

    def job(where: AwsContext, _: Target) -> ScanReport:
        report = run_scan(where, settings, progress=progress)
        if store:  # stored with the report, as the nightly scan does, for the digest
            advice[report.place] = advice_for_scan(where, report)
        return report

    with _aws() as aws, _progress(stderr.is_terminal) as progress:
        outcome, home = _each(aws, job)
        if store:
            with _phase(progress, "storing the report"):
                reports = ReportStore(aws.client("dynamodb"), _table(aws), aws.retry)
                for _, report in outcome.results:
                    stored = report.to_json(home) | {"advice": advice.get(report.place)}
                    reports.put(stored, report.scanned_at, report.place)
    if store:
        stderr.print(f"reports stored in table {_table(aws)}", highlight=False)
    if output_format == "json":
        click.echo(json.dumps(scan_json(outcome, home), indent=2))
    else:
        for target, report in outcome.results:
            if len(outcome.results) > 1 or outcome.failures:
                stdout_console().rule(f"account {target.label}")
            scan_table(report, stdout_console())
    _report_failures(outcome)


class UtcTime(click.ParamType[datetime]):
    """A UTC instant (``2026-11-20T06:00:00Z``) or, with ``day=True``, a UTC day (``2026-11-19``)."""

    def __init__(self, day: bool = False) -> None:
        self.day = day
        self.name = "YYYY-MM-DD" if day else "TIMESTAMP"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        if self.day:
            try:
                return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            except (TypeError, ValueError):
                self.fail(f"expected a UTC day as YYYY-MM-DD, got {value!r}", param, ctx)
        try:
            return parse_utc(value, param.name if param and param.name else "timestamp")
        except InputError as exc:
            self.fail(exc.message, param, ctx)


TIMESTAMP = UtcTime()


def _price_settings() -> PriceSettings:
    """Where prices come from, as --prices, --prices-parameter and --refresh-prices say."""
    given = click.get_current_context().meta.get(TARGET, {})
    refresh = bool(given.get("refresh_prices"))
    return PriceSettings(given.get("price_file"), given.get("prices_parameter"), refresh, _price_cache())


def _price_cache() -> Path | None:
    """Prices from the Price List API are cached a week on disk, except for an emulated fleet."""
    return None if click.get_current_context().meta.get(TARGET, {}).get("fleet") else PRICE_CACHE


def _table(aws: AwsContext) -> str:
    return aws.table_name(click.get_current_context().meta.get(TARGET, {}).get("table"))


def _meter_all(aws: AwsContext, ledger: Ledger, interval_minutes: int, progress: Any = None) -> MeterRun:
    """With --fleet: meter the fleet's whole history into the emulated ledger, run by run as
    the hourly schedule would have."""
    assert aws.emulator is not None
    step = timedelta(minutes=interval_minutes)
    start = align_down(aws.emulator.history_start + step - timedelta(microseconds=1), interval_minutes)
    end = align_down(aws.now, interval_minutes)
    return meter_as_scheduled(aws, ledger, start, end, interval_minutes, PriceSettings(), progress)


@cli.command()
@aws_options
@table_option
@org_options
@click.option("--start", type=TIMESTAMP, required=True, help="First interval's start, e.g. 2026-11-20T00:00:00Z.")
@click.option("--end", type=TIMESTAMP, required=True, help="End of the last interval (exclusive).")
@click.option(
    "--interval-minutes", type=click.IntRange(1, 1440), default=60, show_default=True, help="Interval length; must divide a day."
)
@price_options
@format_option("table", "json")
def meter(
    start: datetime,
    end: datetime,
    interval_minutes: int,
    output_format: str,
) -> None:
    """Compute the cost of every interval in [start, end) and write it to the ledger
    (idempotently: metering an interval twice changes nothing). Only intervals that have
    ended are metered; with --fleet, one run per interval, as the hourly schedule would."""
    validate_interval_minutes(interval_minutes, "--interval-minutes")
    prices = _price_settings()
    with _aws() as aws, _progress(stderr.is_terminal) as progress:
        check_range(start, end, interval_minutes, aws.now)  # a bad range fails before any account is read
        ledger = Ledger(aws.client("dynamodb"), _table(aws), aws.retry)
        outcome, home = _each(
            aws, lambda where, _: meter_as_scheduled(where, ledger, start, end, interval_minutes, prices, progress)
        )
    if output_format == "json":
        click.echo(json.dumps(meter_outcome_json(outcome, home), indent=2))
    else:
        for target, run in outcome.results:
            if len(outcome.results) > 1 or outcome.failures:
                stdout_console().rule(f"account {target.label}")
            meter_table(run, stdout_console())
    _report_failures(outcome)


@cli.command()
@aws_options
@table_option
@click.option("--day", type=UtcTime(day=True), required=True, help="The UTC day to settle, e.g. 2026-11-19 (it must have ended).")
@click.option(
    "--interval-minutes", type=click.IntRange(1, 1440), default=60, show_default=True, help="The meter's interval length."
)
@price_options
@format_option("table", "json")
def settle(
    day: datetime,
    interval_minutes: int,
    output_format: str,
) -> None:
    """Re-meter a whole day from final data and append a correction record wherever the
    ledger's figure differs (late samples, a changed price); nothing is rewritten, and
    settling a day twice appends nothing. The Lambda does this daily for yesterday."""
    prices = _price_settings()
    with _aws() as aws:
        ledger = Ledger(aws.client("dynamodb"), _table(aws), aws.retry)
        if aws.emulator is not None:
            _meter_all(aws, ledger, interval_minutes)
        run = settle_day(aws, ledger, day, interval_minutes, prices)
    document = settle_json(run)
    if output_format == "json":
        click.echo(json.dumps(document, indent=2))
    else:
        out = stdout_console()
        out.print(
            f"{document['day']}: {len(run.corrections)} corrections, {len(run.added)} records the ledger lacked, "
            f"difference {document['difference_usd']} USD"
        )
        for record in run.corrections + run.added:
            out.print(
                f"  {record.interval_start:%H:%M} {record.endpoint_name} {record.inference_component_name or record.kind.value}: "
                f"{format_money(record.cost_usd)} ({record.basis.value}, {record.price_source})",
                highlight=False,
                markup=False,
            )


@cli.command()
@aws_options
@table_option
@org_options
@click.option("--month", help="Calendar month, YYYY-MM (UTC).")
@click.option("--start", type=TIMESTAMP, help="Range start (instead of --month).")
@click.option("--end", type=TIMESTAMP, help="Range end, exclusive.")
@click.option("--by", type=click.Choice(BY_KEYS), default="team", show_default=True, help="What to total by.")
@click.option(
    "--interval-minutes",
    type=click.IntRange(1, 1440),
    default=60,
    show_default=True,
    help="The meter's interval: --start and --end must fall on its boundaries.",
)
@cost_option
@price_options
@format_option("table", "csv", "json")
def chargeback(
    month: str | None,
    start: datetime | None,
    end: datetime | None,
    by: str,
    interval_minutes: int,
    cost: str,
    output_format: str,
) -> None:
    """Total the ledger's costs by team, cost-center, project, endpoint, component or model.
    With --fleet, the fleet's whole history is metered into the emulated ledger first."""
    if month is not None and (start is not None or end is not None):
        raise click.UsageError("--month: give --month, or --start and --end, not both")
    if month is None and (start is None or end is None):
        raise click.UsageError("--month: give --month YYYY-MM, or both --start and --end")
    with _aws() as aws, _progress(stderr.is_terminal) as progress:
        ledger = Ledger(aws.client("dynamodb"), _table(aws), aws.retry)
        if month is not None:
            month_bounds(month)  # a bad month fails before any metering
        elif start is not None and end is not None:
            check_range(start, end, interval_minutes, None)  # so does a bad range
        places, failures, _ = _ledger_places(aws, ledger, progress)
        basis = CostBasis(cost)
        where = [p for *_, p in places]
        rates = NO_RATES if basis is CostBasis.LIST else effective_rates(aws, ledger, where, _price_settings())
        if len(places) == 1 and by in GROUP_KEYS:
            result = run_chargeback(ledger, places[0][2], by, month, start, end, interval_minutes, basis, rates)
        else:
            result = run_org_chargeback(ledger, places, by, month, start, end, interval_minutes, basis, rates)
    if output_format == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
    elif output_format == "csv":
        csv.writer(sys.stdout, lineterminator="\n").writerows(result.to_csv_rows())
    else:
        chargeback_table(result, stdout_console())
    _report_failures(Outcome(failures=failures))


def _ledger_places(
    aws: AwsContext, ledger: Ledger, progress: Any
) -> tuple[list[tuple[str, str, str]], list[Failure], str]:
    """The account regions a ledger read covers, as (account id, region, ledger place), the
    failed ones, and the account spendwatch runs in. With --fleet, the fleet's history is
    metered first, account region by account region."""
    if aws.emulator is not None:
        metered, home = _each(aws, lambda where, _: _meter_all(where, ledger, 60, progress))
        failures = metered.failures
        watched = [t for t, _ in metered.results]
    else:  # the ledger is central: no member account is read
        failures, home = list[Failure](), home_account(aws)
        found = targets(aws, _reach())
        watched = found[0] if found is not None else [Target(home, aws.region)]
    places = [(t.account_id, t.region, place("" if t.account_id == home else t.account_id, t.region)) for t in watched]
    return places, failures, home


budgets_options = [
    file_option("--budgets", "budgets_file", "JSON budgets document (see README: Budgets)."),
    click.option("--budgets-parameter", help="SSM parameter holding the budgets document."),
    click.option("--thresholds", help="Alert thresholds in percent of the budget, e.g. 50,80,100."),
]


def budget_options(command: F) -> F:
    for option in reversed(budgets_options):
        command = option(command)
    return command


def _notify_settings(budgets_file: Path | None, budgets_parameter: str | None, thresholds: str | None) -> NotifySettings:
    return NotifySettings(budgets_file, budgets_parameter, parse_thresholds(thresholds, "--thresholds") if thresholds else None)


def _show_problems(problems: list[str]) -> None:
    for problem in problems:
        stderr.print(f"[yellow]budget not read: {problem}[/yellow]", highlight=False)


def _prepare_fleet(aws: AwsContext, ledger: Ledger, store: ReportStore, progress: Any = None) -> None:
    """With --fleet: tonight's scan is stored and the history metered, as the Lambdas would have."""
    report = run_scan(aws, ScanSettings(), progress=progress)
    store.put({**report.to_json(), "advice": advice_for_scan(aws, report)}, report.scanned_at, report.region)
    _meter_all(aws, ledger, 60, progress)


@cli.command()
@aws_options
@table_option
@budget_options
@click.option("--topic-arn", help="SNS topic (the stack's NotificationsTopicArn output).")
@click.option(
    "--dry-run/--publish", default=True, show_default=True, help="Print the Publish requests (default), or really publish them."
)
def notify(
    budgets_file: Path | None,
    budgets_parameter: str | None,
    thresholds: str | None,
    topic_arn: str | None,
    dry_run: bool,
) -> None:
    """Run the checks that lead to notifications (the idle report, budgets) and print the SNS
    Publish requests they make, or publish them with --publish."""
    settings = _notify_settings(budgets_file, budgets_parameter, thresholds)
    if not dry_run and not topic_arn:
        raise click.UsageError("--topic-arn: required with --publish")
    if topic_arn is not None:
        check_topic_arn(topic_arn, "--topic-arn")
    with _aws() as aws, _progress(stderr.is_terminal) as progress:
        ledger = Ledger(aws.client("dynamodb"), _table(aws), aws.retry)
        store = ReportStore(aws.client("dynamodb"), _table(aws), aws.retry)
        if aws.emulator is not None:
            _prepare_fleet(aws, ledger, store, progress)
        with _phase(progress, "reading the report, the ledger and budgets"):
            prepared = prepare(aws, ledger, store, settings, aws.now)
        arn = (
            topic_arn
            or f"arn:aws:sns:{aws.region}:{aws.emulator.account_id if aws.emulator else '123456789012'}:spendwatch-notifications"
        )
        if not dry_run:
            send(Publisher(aws.client("sns"), aws.retry), ledger, aws.region, arn, prepared, aws.now)
    _show_problems(prepared.problems)
    click.echo(json.dumps({"messages": [n.publish_request(arn) for n, _ in prepared.messages]}, indent=2))


@cli.command()
@aws_options
@table_option
@budget_options
@format_option("table", "json")
def budgets(
    budgets_file: Path | None,
    budgets_parameter: str | None,
    thresholds: str | None,
    output_format: str,
) -> None:
    """Each budget's month-to-date spend, month-end forecast and thresholds crossed."""
    settings = _notify_settings(budgets_file, budgets_parameter, thresholds)
    with _aws() as aws, _progress(stderr.is_terminal) as progress:
        ledger = Ledger(aws.client("dynamodb"), _table(aws), aws.retry)
        if aws.emulator is not None:
            _meter_all(aws, ledger, 60, progress)
        with _phase(progress, "reading the ledger and budgets"):
            prepared = prepare(aws, ledger, None, settings, aws.now)
    _show_problems(prepared.problems)
    if output_format == "json":
        click.echo(json.dumps(budgets_json(prepared.statuses), indent=2))
    else:
        budgets_table(prepared.statuses, stdout_console())


@cli.command()
@click.option(
    "--fleet",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Fleet spec to run the demo on (default: the bundled demo fleet).",
)
def demo(fleet: Path | None) -> None:
    """Scan the bundled demo fleet (emulated AWS; no account needed) and print what was found."""
    out = stdout_console()
    with open_fleet(fleet) as aws, _progress(stderr.is_terminal) as progress:
        count = aws.emulator.endpoint_count if aws.emulator else 0
        out.rule(f"[bold]spendwatch demo[/]: {count} endpoints, emulated AWS, now = {aws.now:%Y-%m-%d %H:%M}Z")
        report = run_scan(aws, ScanSettings(), progress=progress)
        scan_table(report, out)
        calls = aws.emulator.calls if aws.emulator else Counter()
        out.print(f"[dim]{sum(calls.values()):,} API calls, {calls['GetMetricData']:,} of them GetMetricData.[/dim]\n")

        ledger = Ledger(aws.client("dynamodb"), aws.table_name(None), aws.retry)
        out.rule("[bold]Metering[/]: the fleet's history, hour by hour, into the ledger")
        meter_summary(_meter_all(aws, ledger, 60, progress), out)
        month = f"{aws.now:%Y-%m}"
        charged = run_chargeback(ledger, aws.region, "team", month=month)
        chargeback_table(charged, out)
        home = aws.emulator.account_id if aws.emulator else ""
        exported = focus.rows(ledger.records(aws.region, *month_bounds(month)), focus.ExportContext(home, home, NO_RATES))
        listed = focus.totals(exported, "ListCost")
        out.print(
            f"[dim]For finance: spendwatch export --format focus --month {month} writes {len(exported):,} FOCUS rows, "
            f"ListCost {display_usd(listed)}{' = the chargeback total' if listed == charged.total else ''}.[/dim]\n",
            highlight=False,
        )

        store = ReportStore(aws.client("dynamodb"), aws.table_name(None), aws.retry)
        store.put(report.to_json(), report.scanned_at, report.region)
        with _phase(progress, "budgets and notifications"):
            prepared = prepare(aws, ledger, store, NotifySettings(), aws.now)
        out.rule("[bold]Notifications[/]: what would be published to SNS tonight")
        for problem in prepared.problems:  # the fleet's own budget problems are part of the demo
            out.print(f"[yellow]budget not read: {problem}[/yellow]", highlight=False)
        budgets_table(prepared.statuses, out)
        messages_preview([n for n, _ in prepared.messages], out)
        out.rule("[bold]Acting on findings[/]: what spendwatch act would do (a dry run: nothing is changed)")
        log = ActionLog(aws.client("dynamodb"), aws.table_name(None), aws.retry)
        for nights in (ActSettings().min_idle_nights, 1):
            planned = act(aws, report.to_json(), log, ActSettings(min_idle_nights=nights)).outcomes
            saving = sum((o.action.monthly_saving_usd or Decimal(0) for o in planned), Decimal(0))
            out.print(
                f"Idle at least {counted(nights, 'night')}: {counted(len(planned), 'action')}"
                + (f", saving {display_usd(saving)} a month" if planned else "")
                + f" (spendwatch act --min-idle-nights {nights})",
                highlight=False,
            )


def _fail(label: str, text: str, status: int) -> None:
    """One line on stderr; the text is shown as it is (rich markup would eat ``[abc]``)."""
    line = Text()
    line.append(label, style="red")
    line.append(" " + " ".join(text.split()))
    stderr.print(line, highlight=False, soft_wrap=True)
    sys.exit(status)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        stderr.print("aborted")
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)  # 2 for usage errors
    except InputError as exc:
        _fail("error:", str(exc), 2)
    except AwsError as exc:
        _fail("AWS error:", str(exc), 1)
    except SpendwatchError as exc:
        _fail("error:", str(exc), 1)
    except (OverflowError, RecursionError) as exc:  # a date or number far outside what the input allows
        _fail("error:", f"input out of range: {exc}", 2)
    except KeyboardInterrupt:
        stderr.print("interrupted")
        sys.exit(130)


# Commands that live in modules of their own register themselves on ``cli`` when imported.
from spendwatch.cli import finance, remedy, statement  # noqa: E402,F401
