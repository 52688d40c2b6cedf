"""The command line as users and checks drive it: JSON on stdout alone, exit 2 naming the
field or flag on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from spendwatch.cli import cli
from tests.conftest import TINY_FLEET


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed entry point, in a process of its own, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "spendwatch.cli", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_scan_tiny_fleet_json_contract() -> None:
    done = run("scan", "--fleet", str(TINY_FLEET), "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # stdout holds the JSON alone
    assert report["scanned_at"] == "2026-11-20T06:00:00Z"
    assert report["lookback_hours"] == 24
    endpoints = {e["endpoint_name"]: e for e in report["endpoints"]}
    components = {c["inference_component_name"]: c for c in report["inference_components"]}
    assert (endpoints["churn-model"]["status"], endpoints["churn-model"]["hourly_cost_usd"]) == ("idle", "0.115000")
    assert endpoints["churn-model"]["idle_since"] == "2026-11-19T02:00:00Z"
    assert (components["ic-summarize"]["status"], components["ic-summarize"]["hourly_cost_usd"]) == ("idle", "1.438000")
    assert components["ic-summarize"]["endpoint_name"] == "genai-shared"
    assert (components["ic-chat"]["status"], components["ic-chat"]["hourly_cost_usd"]) == ("active", "2.876000")
    for entry in [*report["endpoints"], *report["inference_components"]]:
        assert isinstance(entry["invocations"], int)
        assert entry["hourly_cost_usd"] is None or len(entry["hourly_cost_usd"].split(".")[1]) >= 6


def test_scan_table_lists_idle_first_with_cost_and_owner() -> None:
    result = CliRunner().invoke(cli, ["scan", "--fleet", str(TINY_FLEET)])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if "│" in line and ("idle" in line or "active" in line)]
    assert "idle" in rows[0]
    assert "idle" in rows[1]
    assert "active" in rows[-1]
    assert "churn-model" in result.output
    assert "$0.115" in result.output
    assert "growth" in result.output
    assert "burn $1.553/h" in result.output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["scan", "--fleet", "does-not-exist.json"], "--fleet"),
        (["scan", "--fleet", str(TINY_FLEET), "--lookback-hours", "0"], "--lookback-hours"),
        (["scan", "--fleet", str(TINY_FLEET), "--format", "xml"], "--format"),
        (["scan", "--fleet", str(TINY_FLEET), "--region", "eu-west-1"], "--fleet"),
    ],
)
def test_bad_usage_exits_2_naming_the_flag(args: list[str], needle: str) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert needle in done.stderr
    assert done.stdout == ""


def test_bad_fleet_exits_2_naming_the_field(tmp_path: Path) -> None:
    doc = json.loads(TINY_FLEET.read_text())
    doc["endpoints"][1]["variants"][0]["instance_count"] = -1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    done = run("scan", "--fleet", str(bad), "--format", "json")
    assert done.returncode == 2
    assert "endpoints[1].variants[0].instance_count" in done.stderr
    assert done.stdout == ""


def test_bad_price_file_exits_2_naming_the_field(tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"prices_usd_per_hour": {"us-east-1": {"ml.m5.large": 0.1}}}))
    done = run("scan", "--fleet", str(TINY_FLEET), "--prices", str(prices))
    assert done.returncode == 2
    assert "prices_usd_per_hour.us-east-1.ml.m5.large" in done.stderr


def test_demo_runs_on_the_bundled_fleet() -> None:
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    for name in ("forgotten-gpu-poc", "vision-pool", "recsys-v2", "legal-hold-model", "ic-summarize"):
        assert name in result.output
    assert "Unpriced instance types" in result.output


def test_notify_dry_run_prints_the_publish_requests() -> None:
    done = run("notify", "--fleet", str(TINY_FLEET), "--dry-run")
    assert done.returncode == 0, done.stderr
    messages = json.loads(done.stdout)["messages"]
    assert [m["MessageAttributes"]["team"]["StringValue"] for m in messages] == ["docs", "growth"]
    for message in messages:
        assert set(message) == {"TopicArn", "Subject", "Message", "MessageStructure", "MessageAttributes"}
        assert message["MessageStructure"] == "json"
        body = json.loads(message["Message"])
        assert set(body) == {"default", "email"}
        assert json.loads(body["default"])["source"] == "custom"
        assert len(message["Subject"]) < 100


def test_publishing_needs_a_topic() -> None:
    done = run("notify", "--fleet", str(TINY_FLEET), "--publish")
    assert done.returncode == 2
    assert "--topic-arn" in done.stderr


def test_budgets_from_a_file_show_month_to_date_forecast_and_thresholds() -> None:
    budgets = TINY_FLEET.parent / "budgets.json"
    done = run("budgets", "--fleet", str(TINY_FLEET), "--budgets", str(budgets), "--format", "json")
    assert done.returncode == 0, done.stderr
    found = {(b["scope"], b["key"]): b for b in json.loads(done.stdout)["budgets"]}
    search = found[("team", "search")]
    assert (search["month_to_date_usd"], search["thresholds_crossed"]) == ("129.420000", ["50", "80", "forecast"])
    assert Decimal(search["forecast_usd"]) > Decimal(search["month_to_date_usd"])


def test_a_bad_budgets_file_exits_2_naming_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "budgets.json"
    bad.write_text(json.dumps({"budgets": [{"team": "search", "monthly_usd": 100.5}]}))  # a float is not exact money
    done = run("budgets", "--fleet", str(TINY_FLEET), "--budgets", str(bad))
    assert done.returncode == 2
    assert "budgets[0].monthly_usd" in done.stderr
