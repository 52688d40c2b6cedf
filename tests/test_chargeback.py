"""`spendwatch chargeback` as finance runs it: groups that add up, CSV that opens cleanly."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import TINY_FLEET
from tests.fleets import component, fleet, gpu_endpoint


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spendwatch.cli", *args], capture_output=True, text=True, timeout=300, check=False
    )


def test_month_by_team_groups_sum_to_the_total_exactly() -> None:
    done = run("chargeback", "--fleet", str(TINY_FLEET), "--month", "2026-11", "--by", "team", "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["start"], result["end"], result["by"]) == ("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", "team")
    groups = {g["key"]: Decimal(g["cost_usd"]) for g in result["groups"]}
    assert sum(groups.values()) == Decimal(result["total_cost_usd"])
    # 30 h of history: genai-shared 5.752/h (search: ic-chat + unallocated; docs: ic-summarize), churn 0.115/h
    assert groups == {"search": Decimal("129.42"), "docs": Decimal("43.14"), "growth": Decimal("3.45")}


def test_untagged_records_fall_into_untagged() -> None:
    done = run("chargeback", "--fleet", str(TINY_FLEET), "--month", "2026-11", "--by", "cost-center", "--format", "json")
    groups = {g["key"]: g["cost_usd"] for g in json.loads(done.stdout)["groups"]}
    assert groups == {"cc-100": "86.280000", "(untagged)": "46.590000", "cc-200": "43.140000"}


def test_csv_has_a_header_a_row_per_group_and_a_totals_row() -> None:
    done = run("chargeback", "--fleet", str(TINY_FLEET), "--month", "2026-11", "--by", "component", "--format", "csv")
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0] == ["component", "cost_usd"]
    assert rows[-1][0] == "TOTAL"
    assert sum(Decimal(r[1]) for r in rows[1:-1]) == Decimal(rows[-1][1])
    # churn-model has no component; genai-shared's capacity no component held is named for what it is
    assert {r[0] for r in rows[1:-1]} == {"ic-chat", "ic-summarize", "(untagged)", "(unallocated capacity)"}


def test_a_range_reads_records_and_agrees_with_the_month() -> None:
    whole = json.loads(
        run("chargeback", "--fleet", str(TINY_FLEET), "--month", "2026-11", "--by", "model", "--format", "json").stdout
    )
    ranged = json.loads(
        run(
            "chargeback",
            "--fleet",
            str(TINY_FLEET),
            "--start",
            "2026-11-01T00:00:00Z",
            "--end",
            "2026-12-01T00:00:00Z",
            "--by",
            "model",
            "--format",
            "json",
        ).stdout
    )
    assert whole["groups"] == ranged["groups"]


def test_by_model_uses_each_components_model(tmp_path: Path) -> None:
    doc = fleet(gpu_endpoint("shared", [component("ic-a", model_name="llama"), component("ic-b", model_name="llama")]))
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps(doc))
    result = json.loads(run("chargeback", "--fleet", str(path), "--month", "2026-11", "--by", "model", "--format", "json").stdout)
    assert [g["key"] for g in result["groups"]] == ["(unallocated capacity)", "llama"]  # unallocated has no model


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--month", "2026-13"], "--month"),
        (["--month", "2026-11", "--start", "2026-11-01T00:00:00Z"], "--month"),
        (["--start", "2026-11-01T00:00:00Z"], "--month"),
        (["--month", "2026-11", "--by", "colour"], "--by"),
        (["--start", "yesterday", "--end", "2026-11-02T00:00:00Z"], "--start"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(args: list[str], needle: str) -> None:
    done = run("chargeback", "--fleet", str(TINY_FLEET), *args)
    assert done.returncode == 2, done.stderr
    assert needle in done.stderr
    assert done.stdout == ""


def test_meter_prints_the_records_of_the_contract() -> None:
    done = run(
        "meter",
        "--fleet",
        str(TINY_FLEET),
        "--start",
        "2026-11-20T05:00:00Z",
        "--end",
        "2026-11-20T06:00:00Z",
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr
    records = json.loads(done.stdout)["records"]
    chat = next(r for r in records if r["inference_component_name"] == "ic-chat")
    assert chat == chat | {
        "interval_start": "2026-11-20T05:00:00Z",
        "interval_end": "2026-11-20T06:00:00Z",
        "endpoint_name": "genai-shared",
        "kind": "component",
        "gpu_seconds": "7200",
        "cost_usd": "2.876000",
        "basis": "metrics",
    }
    unallocated = next(r for r in records if r["kind"] == "unallocated")
    assert unallocated["inference_component_name"] is None


def test_meter_needs_a_table_against_a_real_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPENDWATCH_TABLE_NAME", raising=False)
    done = run("meter", "--region", "us-east-1", "--start", "2026-11-20T05:00:00Z", "--end", "2026-11-20T06:00:00Z")
    assert done.returncode == 2
    assert "--table" in done.stderr
