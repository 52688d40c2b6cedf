"""The ``spendwatch`` command line. JSON goes to stdout alone; progress and logs to stderr.
Exit status: 0 done, 2 bad usage or bad input (naming the field or flag), 1 anything else."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from spendwatch.aws.session import AwsContext, open_aws
from spendwatch.errors import AwsError, InputError, SpendwatchError
from spendwatch.render import scan_table
from spendwatch.scan import DEFAULT_HISTORY_HOURS, DEFAULT_LOOKBACK_HOURS, PriceSettings, ScanSettings, run_scan

F = TypeVar("F", bound=Callable[..., Any])
stderr = Console(stderr=True)


def stdout_console() -> Console:
    """Tables stay readable when piped: never narrower than 150 columns."""
    probe = Console()
    return Console(width=max(probe.width, 150)) if not probe.is_terminal else probe


PRICE_CACHE = Path.home() / ".cache" / "spendwatch" / "prices.json"


def aws_options(command: F) -> F:
    """--fleet, --region, --profile, --endpoint-url: on every command."""
    for option in reversed(
        [
            click.option(
                "--fleet",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Run against an emulated AWS seeded from this fleet spec instead of a real account.",
            ),
            click.option("--region", help="AWS region (default: the configured one)."),
            click.option("--profile", help="AWS named profile."),
            click.option("--endpoint-url", help="Custom AWS endpoint URL (e.g. a VPC endpoint)."),
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
        help="table for people, json for programs.",
    )


@contextmanager
def _aws(fleet: Path | None, region: str | None, profile: str | None, endpoint_url: str | None) -> Iterator[AwsContext]:
    if fleet is not None and (region or profile or endpoint_url):
        raise click.UsageError(
            "--fleet runs against the emulated AWS: it cannot be combined with --region, --profile or --endpoint-url"
        )
    with open_aws(fleet, region, profile, endpoint_url) as aws:
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
@click.option(
    "--lookback-hours",
    type=click.IntRange(1, 24 * 63),
    default=DEFAULT_LOOKBACK_HOURS,
    show_default=True,
    help="Traffic window ending now that decides idle or active.",
)
@click.option(
    "--history-hours",
    type=click.IntRange(1, 24 * 455),
    default=DEFAULT_HISTORY_HOURS,
    show_default=True,
    help="How far back to look for the last invocation (idle_since).",
)
@click.option(
    "--prices", "price_file", type=click.Path(dir_okay=False, path_type=Path), help="JSON price overrides (see README: Prices)."
)
@click.option("--prices-parameter", help="SSM parameter holding JSON price overrides.")
@click.option("--refresh-prices", is_flag=True, help="Refresh prices from the AWS Price List API (cached a week).")
@format_option("table", "json")
def scan(
    fleet: Path | None,
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
    lookback_hours: int,
    history_hours: int,
    price_file: Path | None,
    prices_parameter: str | None,
    refresh_prices: bool,
    output_format: str,
) -> None:
    """Classify every endpoint and inference component as idle, active, new, excluded or
    not-in-service, with what each costs per hour."""
    settings = ScanSettings(
        lookback_hours=lookback_hours,
        history_hours=history_hours,
        prices=PriceSettings(price_file, prices_parameter, refresh_prices, None if fleet else PRICE_CACHE),
    )
    with _aws(fleet, region, profile, endpoint_url) as aws, _progress(stderr.is_terminal) as progress:
        report = run_scan(aws, settings, progress=progress)
    if output_format == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        scan_table(report, stdout_console())


@cli.command()
@click.option(
    "--fleet",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Fleet spec to run the demo on (default: the bundled demo fleet).",
)
def demo(fleet: Path | None) -> None:
    """Scan the bundled demo fleet (emulated AWS; no account needed) and print what was found."""
    out = stdout_console()
    with _demo_fleet(fleet) as path, open_aws(path) as aws:
        count = len(aws.fleet.endpoints) if aws.fleet else 0
        out.rule(f"[bold]spendwatch demo[/]: {count} endpoints, emulated AWS, now = {aws.now:%Y-%m-%d %H:%M}Z")
        report = run_scan(aws, ScanSettings())
        scan_table(report, out)
        out.print(
            f"[dim]{sum(aws.emulator.calls.values()) if aws.emulator else 0} API calls, "
            f"{aws.emulator.calls['GetMetricData'] if aws.emulator else 0} of them GetMetricData.[/dim]"
        )


@contextmanager
def _demo_fleet(fleet: Path | None) -> Iterator[Path]:
    if fleet is not None:
        yield fleet
        return
    with resources.as_file(resources.files("spendwatch") / "data" / "demo-fleet.json") as path:
        yield path


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
        stderr.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(2)
    except AwsError as exc:
        stderr.print(f"[red]AWS error:[/red] {exc}", highlight=False)
        sys.exit(1)
    except SpendwatchError as exc:
        stderr.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
