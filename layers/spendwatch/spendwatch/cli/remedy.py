"""Acting on findings: `act`, `restore` and `advise`."""

from __future__ import annotations

import json as _json
import sys as _sys
from typing import Any

import click
from rich.markup import escape

from spendwatch.aws.actions import ActionLog
from spendwatch.cli.commands import (
    _aws,
    _phase,
    _price_settings,
    _progress,
    _table,
    aws_options,
    cli,
    format_option,
    price_options,
    stderr,
    stdout_console,
    table_option,
)
from spendwatch.cli.render import Col, fitted_table
from spendwatch.core.ledger import UNTAGGED
from spendwatch.core.money import display_usd
from spendwatch.core.remediation import DEFAULT_MIN_IDLE_NIGHTS, MAX_IDLE_NIGHTS, check_min_idle_nights, restore_command
from spendwatch.core.wording import count
from spendwatch.services.act import ActRun, ActSettings, Restored, act, restore
from spendwatch.services.scan import ScanSettings, run_scan

# -- `act` and `restore`: opt-in remediation with undo ----------------------------------------------


def act_table(run: ActRun, console: Any) -> None:
    cols = [
        Col("Action", name=True),
        Col("Resource", name=True),
        Col("On endpoint", name=True),
        Col("$/month", "right"),
        Col("Status"),
        Col("Owner", drop=2),
        Col("Reason", drop=3),
    ]
    rows = [
        [
            o.action.kind.value,
            o.action.name,
            o.action.endpoint_name if o.action.inference_component_name else "",
            display_usd(o.action.monthly_saving_usd),
            o.status,
            o.action.owner or UNTAGGED,
            "; ".join(x for x in (o.action.reason, o.detail) if x),
        ]
        for o in run.outcomes
    ]
    mode = "dry run, nothing is changed: --apply to act" if run.dry_run else "applied"
    title = (
        f"Remediation of {run.region} at {run.plan.planned_at:%Y-%m-%d %H:%M}Z, "
        f"idle at least {count(run.plan.min_idle_nights, 'night')} ({mode})"
    )
    console.print(fitted_table(console, cols, rows, title=title, title_justify="left"))
    if not rows:
        console.print("No action is due.")
    saving = display_usd(run.monthly_saving())
    console.print(f"[bold]{'Would save' if run.dry_run else 'Saves'} {saving} a month.[/bold]", highlight=False)
    for skipped in run.plan.skipped:
        what = skipped.inference_component_name or skipped.endpoint_name
        console.print(f"[dim]left alone: {escape(what)}: {escape(skipped.reason)}[/dim]", highlight=False)
    for finding in run.plan.findings:
        console.print(f"[yellow]finding: {escape(finding.text())}[/yellow]", highlight=False)
    done = [o.action.name for o in run.outcomes if o.status == "done"]
    if done:
        console.print("Undo with: " + "; ".join(restore_command(n) for n in done), highlight=False)


@cli.command("act")
@aws_options
@table_option
@price_options
@click.option("--apply", "apply_", is_flag=True, help="Take the actions (default: a dry run that changes nothing).")
@click.option(
    "--min-idle-nights",
    type=int,
    default=DEFAULT_MIN_IDLE_NIGHTS,
    show_default=True,
    help=f"Act only on resources idle at least this many nights (0-{MAX_IDLE_NIGHTS}); tag spendwatch:idle-days lengthens it.",
)
@format_option("table", "json")
def act_command(apply_: bool, min_idle_nights: int, output_format: str) -> None:
    """Plan one action for each idle resource (scale an inference component's copies to zero,
    let an endpoint with nothing placed scale to zero instances, delete an idle classic
    endpoint after saving what brings it back) and, with --apply, take each exactly once.
    Tag spendwatch:action (none, scale-to-zero, delete) overrides it per resource."""
    check_min_idle_nights(min_idle_nights, "--min-idle-nights")
    prices = _price_settings()
    with _aws() as aws, _progress(stderr.is_terminal) as progress:
        action_log = ActionLog(aws.client("dynamodb"), _table(aws), aws.retry)
        report = run_scan(aws, ScanSettings(prices=prices), progress=progress).to_json()
        with _phase(progress, "acting" if apply_ else "planning"):
            run = act(aws, report, action_log, ActSettings(min_idle_nights=min_idle_nights, apply=apply_))
    if output_format == "json":
        click.echo(_json.dumps(run.to_json(), indent=2))
    else:
        act_table(run, stdout_console())
    for outcome in run.failed:
        stderr.print(
            f"[red]{outcome.action.kind.value} {escape(outcome.action.name)} failed: {escape(outcome.detail)}[/red]",
            highlight=False,
        )
    if run.failed:
        _sys.exit(1)


def restore_table(results: list[Restored], console: Any) -> None:
    cols = [Col("Action undone"), Col("Resource", name=True), Col("Acted at"), Col("Status"), Col("Detail", drop=1)]
    rows = [
        [
            r.record.kind.value,
            r.record.name,
            f"{r.record.done_at:%Y-%m-%d %H:%M}Z" if r.record.done_at else "",
            r.status,
            r.detail,
        ]
        for r in results
    ]
    console.print(fitted_table(console, cols, rows, title="Restore", title_justify="left"))


@cli.command("restore")
@aws_options
@table_option
@click.argument("name")
@format_option("table", "json")
def restore_command_(name: str, output_format: str) -> None:
    """Undo what spendwatch act did to NAME (an endpoint, with its inference components, or one
    inference component) from what it saved: recreate a deleted endpoint with its config, tags
    and instance counts; move an endpoint back to its own config; give a component its copies
    and its scalable target's limits back."""
    with _aws() as aws:
        action_log = ActionLog(aws.client("dynamodb"), _table(aws), aws.retry)
        results = restore(aws, action_log, name)
    if output_format == "json":
        click.echo(_json.dumps({"name": name, "restored": [r.to_json() for r in results]}, indent=2))
    else:
        restore_table(results, stdout_console())
    failed = [r for r in results if r.status == "restore-failed"]
    for result in failed:
        stderr.print(f"[red]restore of {escape(result.record.name)} failed: {escape(result.detail)}[/red]", highlight=False)
    if failed:
        _sys.exit(1)


# -- `advise`: right-sizing advice (never applied) ------------------------------------------------


def _advise_command() -> None:
    """Registers ``spendwatch advise`` on the group. A function, so that this section's
    imports are its own whatever the top of the module (act and restore) imports."""
    import json

    import click
    from rich.console import Console

    from spendwatch.cli.commands import (
        _aws,
        _each,
        _progress,
        _report_failures,
        aws_options,
        cli,
        format_option,
        hours_option,
        org_options,
        stderr,
        stdout_console,
    )
    from spendwatch.cli.render import Col, fitted_table
    from spendwatch.core.advice import (
        DEFAULT_LOOKBACK_HOURS,
        MAX_LOOKBACK_HOURS,
        Advice,
        AdviceReport,
        Bound,
        SubjectKind,
    )
    from spendwatch.core.ledger import UNTAGGED
    from spendwatch.core.wording import count
    from spendwatch.services.advise import AdviseSettings, run_advise
    from spendwatch.services.estate import Outcome

    bound_style = {Bound.COMPUTE: "bold magenta", Bound.THROUGHPUT: "cyan", Bound.IDLE: "dim", Bound.UNKNOWN: "yellow"}

    def advise_json(outcome: Outcome[AdviceReport], home: str, lookback_hours: int) -> dict[str, object]:
        """Every account region's advice together, each row naming its account and region."""
        reports = [report.to_json(home) for _, report in outcome.results]
        return {
            "advised_at": reports[0]["advised_at"] if reports else None,
            "lookback_hours": lookback_hours,
            "endpoints": [row for r in reports for row in r["endpoints"]],
            "inference_components": [row for r in reports for row in r["inference_components"]],
            "failures": [f.to_json() for f in outcome.failures],
            "api_calls": dict(sorted(outcome.calls.items())),
        }

    def _size(a: Advice) -> str:
        s = a.subject
        if s.kind is SubjectKind.COMPONENT:
            return f"{count(s.count, 'copy')} on {s.endpoint_name}"
        return f"{s.count} x {s.instance_type}"

    def _recommended(a: Advice) -> str:
        r = a.recommendation
        if r is None:
            return ""
        return f"{r.metric} at {r.target.normalize():f} ({r.min_capacity}-{r.max_capacity})"

    def _fits(a: Advice) -> str:
        if a.fits_count is not None:
            return count(a.fits_count, "copy" if a.subject.kind is SubjectKind.COMPONENT else "instance")
        return a.fits_instance_type or ""

    def advise_table(report: AdviceReport, console: Console) -> None:
        cols = [
            Col("Resource", name=True),
            Col("Size"),
            Col("Scales"),
            Col("Bound"),
            Col("Target-tracking policy to set"),
            Col("Peak fits", drop=2),
            Col("Owner", drop=3),
            Col("Why", drop=4),
        ]
        rows = [
            [
                a.subject.name,
                _size(a),
                "yes" if a.scales else "no",
                f"[{bound_style[a.bound]}]{a.bound.value}[/]",
                _recommended(a),
                _fits(a),
                a.subject.owner or UNTAGGED,
                a.reason,
            ]
            for a in report.advice
        ]
        title = (
            f"Right-sizing advice for {report.region} at {report.advised_at:%Y-%m-%d %H:%M}Z, last {report.lookback_hours} h "
            "(advice only: nothing is changed)"
        )
        console.print(fitted_table(console, cols, rows, title=title, title_justify="left"))
        if not rows:
            console.print("No real-time endpoint variants or inference components to advise on.")

    @cli.command()
    @aws_options
    @org_options
    @hours_option(
        "--lookback-hours",
        MAX_LOOKBACK_HOURS,
        DEFAULT_LOOKBACK_HOURS,
        "Window ending now whose load the advice is drawn from (peaks of 5-minute figures).",
    )
    @format_option("table", "json")
    def advise(lookback_hours: int, output_format: str) -> None:
        """Right-sizing advice for every real-time endpoint variant and inference component:
        whether it scales, whether its load is compute-bound or throughput-bound, the
        target-tracking policy to set (metric and target), and the smaller count or instance type
        its peak fits. Advice only: nothing is ever changed."""
        settings = AdviseSettings(lookback_hours=lookback_hours)
        with _aws() as aws, _progress(stderr.is_terminal) as progress:
            outcome, home = _each(aws, lambda where, _: run_advise(where, settings, progress=progress))
        if output_format == "json":
            click.echo(json.dumps(advise_json(outcome, home, lookback_hours), indent=2))
        else:
            for target, report in outcome.results:
                if len(outcome.results) > 1 or outcome.failures:
                    stdout_console().rule(f"account {target.label}")
                advise_table(report, stdout_console())
        _report_failures(outcome)


_advise_command()
