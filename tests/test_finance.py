"""Finance: the FOCUS export equals chargeback, its splits add back up to their origin charge,
and a bill generated from a fleet (with planted differences) is reconciled: each planted
difference is reported and nothing else is; the effective rate it teaches reaches chargeback
and the export."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from spendwatch.aws.ledger import Ledger
from spendwatch.aws.session import AwsContext
from spendwatch.cli import cli
from spendwatch.cli.bills import read_bill
from spendwatch.core import focus
from spendwatch.core.budgets import load_config
from spendwatch.core.effective import NO_RATES, CostBasis, EffectiveRates
from spendwatch.core.timestamps import align_down
from spendwatch.services.chargeback import run_chargeback
from spendwatch.services.meter import meter_as_scheduled
from spendwatch.services.notify import budget_statuses
from spendwatch.services.prices import PriceSettings
from spendwatch.services.reconcile import reconcile
from tests.conftest import TINY_FLEET

MONTH = "2026-11"
HOME = "123456789012"
DISCOUNTED = "ml.g6.12xlarge"  # genai-shared's type: covered by a 30 % Savings Plan in the bill
GHOST = "old-experiment"  # billed, never seen by spendwatch
MISSED_DAY = "2026-11-18"  # churn-model ran that day; the ledger's history starts on the 19th


def invoke(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


_EXPORTED: list[dict[str, str]] = []


def export_rows(tmp_path: Path, *extra: str) -> list[dict[str, str]]:
    """The tiny fleet's November as FOCUS rows (exported once per module when no flag is added)."""
    if not extra and _EXPORTED:
        return [dict(r) for r in _EXPORTED]
    out = tmp_path / "focus.csv"
    result = invoke("export", "--fleet", str(TINY_FLEET), "--format", "focus", "--month", MONTH, "-o", str(out), *extra)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    if not extra:
        _EXPORTED.extend(rows)
    return rows


def chargeback_total(*extra: str) -> Decimal:
    result = invoke("chargeback", "--fleet", str(TINY_FLEET), "--month", MONTH, "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return Decimal(json.loads(result.stdout)["total_cost_usd"])


# -- the export ---------------------------------------------------------------------------


def test_the_export_of_a_month_equals_chargeback_to_the_micro_dollar(tmp_path: Path) -> None:
    rows = export_rows(tmp_path)
    total = chargeback_total("--cost", "list")
    assert sum(Decimal(r["ListCost"]) for r in rows) == total
    assert sum(Decimal(r["EffectiveCost"]) for r in rows) == total  # no effective rate set: effective = list
    assert sum(Decimal(r["BilledCost"]) for r in rows) == total
    assert chargeback_total() == total  # --cost effective (the default) with no rate known


def test_every_focus_1_2_mandatory_column_is_present_and_filled(tmp_path: Path) -> None:
    rows = export_rows(tmp_path)
    header = list(rows[0])
    assert set(focus.MANDATORY_1_2) <= set(header)
    for row in rows:
        for column in focus.MANDATORY_1_2:
            if column not in ("BillingAccountName", "ChargeClass"):  # nullable in FOCUS, and null here
                assert row[column], (column, row)
        assert row["ChargeCategory"] == "Usage"
        assert row["BillingCurrency"] == "USD"
        assert row["PricingUnit"] == "Hours"
        assert row["ResourceId"].startswith(f"arn:aws:sagemaker:us-east-1:{HOME}:endpoint/")
        assert row["SkuId"] == row["SkuMeter"] == f"USE1-Host:{row['x_InstanceType']}"
        assert Decimal(row["ListCost"]) == Decimal(row["EffectiveCost"])
        assert row["ChargePeriodStart"] < row["ChargePeriodEnd"]
        assert row["BillingPeriodStart"] == "2026-11-01T00:00:00Z"
        assert row["BillingPeriodEnd"] == "2026-12-01T00:00:00Z"
        json.loads(row["Tags"])
    assert all(c in header for c in ("x_SpendwatchKind", "x_Basis", "x_GpuSeconds"))


def test_component_rows_are_allocated_charges_and_each_split_adds_back_to_its_origin(tmp_path: Path) -> None:
    rows = export_rows(tmp_path)
    origins: dict[tuple[str, str, str], list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        origins[(row["ResourceId"], row["x_VariantName"], row["ChargePeriodStart"])].append(row)
    split = 0
    for parts in origins.values():
        kinds = {p["x_SpendwatchKind"] for p in parts}
        if kinds == {"endpoint"}:  # a classic endpoint: one row, no allocation
            (only,) = parts
            assert not only["AllocatedMethodId"]
            assert not only["AllocatedResourceId"]
            continue
        split += 1
        assert "endpoint" not in kinds
        assert "unallocated" in kinds  # the capacity no component held is a row of its own
        price = Decimal(parts[0]["ListUnitPrice"])
        hours = Decimal(parts[0]["x_InstanceSeconds"]) / 3600
        origin_cost = (hours * price).quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)
        assert sum(Decimal(p["ListCost"]) for p in parts) == origin_cost
        assert sum(Decimal(p["PricingQuantity"]) for p in parts) == hours.quantize(Decimal("0.000001"))
        ratios = [Decimal(str(json.loads(p["AllocatedMethodDetails"])["Elements"][0]["AllocatedRatio"])) for p in parts]
        assert sum(ratios) == 1
        for part in parts:
            assert part["AllocatedMethodId"] == focus.ALLOCATED_BY_GPU
            # dimensions of the origin are the same on every allocated row
            assert part["Tags"] == parts[0]["Tags"]
            assert part["SkuId"] == parts[0]["SkuId"]
            if part["x_SpendwatchKind"] == "component":
                name = part["x_InferenceComponentName"]
                assert part["AllocatedResourceName"] == name
                assert part["AllocatedResourceId"] == f"arn:aws:sagemaker:us-east-1:{HOME}:inference-component/{name}"
            else:
                assert part["AllocatedResourceName"].endswith("(unallocated capacity)")
    assert split > 0


def test_parquet_and_gzip_exports_hold_the_same_rows_typed(tmp_path: Path) -> None:
    total = sum(Decimal(r["ListCost"]) for r in export_rows(tmp_path))
    for name in ("focus.parquet", "focus.csv.gz"):
        out = tmp_path / name
        result = invoke("export", "--fleet", str(TINY_FLEET), "--format", "focus", "--month", MONTH, "-o", str(out))
        assert result.exit_code == 0, result.output
        source = f"read_parquet('{out}')" if name.endswith("parquet") else f"read_csv('{out}', all_varchar = true)"
        (count, listed) = duckdb.sql(f"SELECT COUNT(*), SUM(CAST(ListCost AS DECIMAL(38, 10))) FROM {source}").fetchone()
        assert Decimal(listed) == total
        assert count > 0
    described = duckdb.sql(f"DESCRIBE SELECT ListCost, ChargePeriodStart FROM read_parquet('{tmp_path / 'focus.parquet'}')")
    kinds = {row[0]: row[1] for row in described.fetchall()}
    assert kinds["ListCost"].startswith("DECIMAL")
    assert kinds["ChargePeriodStart"] == "TIMESTAMP WITH TIME ZONE"


# -- a bill generated from the fleet, with planted differences -------------------------------


def cur_bill(rows: list[dict[str, str]], path: Path) -> Path:
    """A CUR 2.0 export of the fleet's hosting hours (one line per endpoint hour), with a
    30 % Savings Plan on one instance type (covered usage and its negation, as AWS writes
    them), an endpoint spendwatch never saw, and a day the ledger missed."""
    hourly: dict[tuple[str, str, str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        key = (row["ResourceId"], row["SkuMeter"], row["ChargePeriodStart"], row["ChargePeriodEnd"])
        hourly[key] += Decimal(row["ListCost"])
    for hour in range(24):  # the day before the ledger's history: churn-model ran all of it
        start = f"{MISSED_DAY}T{hour:02d}:00:00Z"
        end = f"{MISSED_DAY}T{hour + 1:02d}:00:00Z" if hour < 23 else "2026-11-19T00:00:00Z"
        churn = f"arn:aws:sagemaker:us-east-1:{HOME}:endpoint/churn-model"
        hourly[(churn, "USE1-Host:ml.m5.large", start, end)] = Decimal("0.115")
    for hour in range(10):
        start, end = f"2026-11-19T{hour:02d}:00:00Z", f"2026-11-19T{hour + 1:02d}:00:00Z"
        hourly[(f"arn:aws:sagemaker:us-east-1:{HOME}:endpoint/{GHOST}", "USE1-Host:ml.g5.2xlarge", start, end)] = Decimal("1.515")
    header = [
        "line_item_usage_account_id",
        "line_item_line_item_type",
        "line_item_product_code",
        "line_item_usage_type",
        "line_item_resource_id",
        "line_item_usage_start_date",
        "line_item_usage_end_date",
        "line_item_unblended_cost",
        "pricing_public_on_demand_cost",
        "savings_plan_savings_plan_effective_cost",
        "reservation_effective_cost",
    ]
    lines = []
    for (resource, usage, start, end), listed in sorted(hourly.items()):
        covered = usage.endswith(DISCOUNTED)
        kind = "SavingsPlanCoveredUsage" if covered else "Usage"
        effective = (listed * Decimal("0.7")).quantize(Decimal("0.0000001")) if covered else ""
        lines.append([HOME, kind, "AmazonSageMaker", usage, resource, start, end, str(listed), str(listed), str(effective), ""])
        if covered:  # the plan negates the on-demand charge: not endpoint usage
            lines.append([HOME, "SavingsPlanNegation", "AmazonSageMaker", usage, resource, start, end, str(-listed), "", "", ""])
    day = ("2026-11-19T00:00:00Z", "2026-11-20T00:00:00Z")
    lines.append([HOME, "Usage", "AmazonS3", "USE1-TimedStorage-ByteHrs", "my-bucket", *day, "3.1", "3.1", "", ""])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(lines)
    path.write_bytes(gzip.compress(buffer.getvalue().encode()))
    return path


def focus_bill(cur: Path, path: Path) -> Path:
    """The same bill as AWS Data Exports' FOCUS 1.2 (with AWS columns), as Parquet."""
    duckdb.sql(
        f"""COPY (SELECT line_item_resource_id AS ResourceId,
                     CAST(line_item_usage_start_date AS TIMESTAMPTZ) AS ChargePeriodStart,
                     CAST(line_item_usage_end_date AS TIMESTAMPTZ) AS ChargePeriodEnd,
                     CASE WHEN line_item_line_item_type = 'SavingsPlanNegation' THEN 'Usage' ELSE 'Usage' END AS ChargeCategory,
                     CASE line_item_line_item_type WHEN 'SavingsPlanCoveredUsage' THEN 0
                          ELSE CAST(line_item_unblended_cost AS DECIMAL(20, 10)) END AS BilledCost,
                     CASE line_item_line_item_type WHEN 'SavingsPlanCoveredUsage'
                          THEN CAST(savings_plan_savings_plan_effective_cost AS DECIMAL(20, 10))
                          ELSE CAST(line_item_unblended_cost AS DECIMAL(20, 10)) END AS EffectiveCost,
                     CAST(NULLIF(pricing_public_on_demand_cost, '') AS DECIMAL(20, 10)) AS ListCost,
                     line_item_usage_type AS x_UsageType, line_item_usage_type AS SkuMeter
              FROM read_csv('{cur}', all_varchar = true)
              WHERE line_item_line_item_type <> 'SavingsPlanNegation')
            TO '{path}' (FORMAT parquet)"""
    )
    return path


def planted(findings: list[str]) -> None:
    """Exactly the three planted differences."""
    assert len(findings) == 3, findings
    assert any(GHOST in f and "never saw" in f for f in findings)
    assert any("churn-model" in f and MISSED_DAY in f and "no record" in f for f in findings)
    assert any(DISCOUNTED in f and "0.700000" in f for f in findings)


@pytest.mark.parametrize("form", ["cur-2.0", "focus-1.2"])
def test_a_bill_with_planted_differences_reports_each_and_nothing_else(tmp_path: Path, form: str) -> None:
    bill = cur_bill(export_rows(tmp_path), tmp_path / "cur.csv.gz")
    if form == "focus-1.2":
        bill = focus_bill(bill, tmp_path / "focus-bill.parquet")
    result = invoke("reconcile", "--fleet", str(TINY_FLEET), "--bill", str(bill), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["bill_format"] == form
    planted(report["findings"])
    statuses = defaultdict(set)
    for day in report["days"]:
        statuses[day["status"]].add((day["endpoint_name"], day["date"]))
    assert statuses["unknown-endpoint"] == {(GHOST, "2026-11-19")}
    assert statuses["missing-in-ledger"] == {("churn-model", MISSED_DAY)}
    assert "difference" not in statuses
    assert "missing-in-bill" not in statuses
    rates = {r["instance_type"]: Decimal(r["effective_rate"]) for r in report["effective_rates"]}
    assert rates == {DISCOUNTED: Decimal("0.7"), "ml.m5.large": Decimal(1)}
    genai = [d for d in report["days"] if d["endpoint_name"] == "genai-shared"]
    assert genai
    assert all(d["effective_rate"] == "0.700000" and d["difference_usd"] == "0.000000" for d in genai)


def test_a_metering_difference_beyond_the_tolerance_is_reported(tmp_path: Path) -> None:
    rows = export_rows(tmp_path)
    for row in rows:  # AWS billed one genai-shared hour at twice the metered figure
        if row["ResourceName"] == "genai-shared" and row["ChargePeriodStart"] == "2026-11-19T03:00:00Z":
            row["ListCost"] = row["EffectiveCost"] = str(Decimal(row["ListCost"]) * 2)
    bill = tmp_path / "bill.csv"
    with bill.open("w") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = invoke("reconcile", "--fleet", str(TINY_FLEET), "--bill", str(bill), "--format", "json")
    report = json.loads(result.stdout)
    (finding,) = report["findings"]
    assert "genai-shared" in finding
    assert "2026-11-19" in finding
    (day,) = [d for d in report["days"] if d["status"] == "difference"]
    assert Decimal(day["difference_usd"]) == Decimal("5.752")  # the hour billed twice
    loose = invoke("reconcile", "--fleet", str(TINY_FLEET), "--bill", str(bill), "--format", "json", "--tolerance", "0.2")
    assert json.loads(loose.stdout)["findings"] == []  # 5.752 of ~138 is within 20 %


def test_the_learned_rate_reaches_chargeback_and_the_export(tiny_aws: AwsContext, tmp_path: Path) -> None:
    """One emulated account: meter, reconcile (rates saved), then chargeback and the export by
    effective cost: the discounted type's records count 70 %, the others list."""
    aws = tiny_aws
    assert aws.emulator is not None
    ledger = Ledger(aws.client("dynamodb"), aws.table_name(None), aws.retry)
    start = align_down(aws.emulator.history_start + timedelta(minutes=60) - timedelta(microseconds=1), 60)
    meter_as_scheduled(aws, ledger, start, align_down(aws.now, 60), 60, PriceSettings())
    places = [(HOME, aws.region, aws.region)]
    records = list(ledger.records(aws.region, *month_range()))
    context = focus.ExportContext(HOME, HOME, NO_RATES)
    bill = read_bill(cur_bill(focus.rows(records, context), tmp_path / "cur.csv.gz"), "--bill", None)
    result = reconcile(ledger, places, HOME, bill, Decimal("0.01"), aws.now)
    planted(list(result.findings))
    ledger.save_rates(result.rates, aws.now)
    rates = EffectiveRates({}, {aws.region: ledger.learned_rates(aws.region)})
    listed = run_chargeback(ledger, aws.region, "team", month=MONTH)
    effective = run_chargeback(ledger, aws.region, "team", month=MONTH, cost=CostBasis.EFFECTIVE, rates=rates)
    def at_seventy(cost: Decimal) -> Decimal:
        return (cost * Decimal("0.7")).quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)

    expected = sum(at_seventy(r.cost_usd) if r.instance_type == DISCOUNTED else r.cost_usd for r in records)
    assert listed.total == sum(r.cost_usd for r in records)
    assert effective.total == expected < listed.total
    assert effective.at_list == 0  # every type has a learned rate (m5.large's is 1)
    rows = focus.rows(records, focus.ExportContext(HOME, HOME, rates))
    assert focus.totals(rows, "EffectiveCost") == effective.total
    assert focus.totals(rows, "ListCost") == listed.total
    assert {r["x_EffectiveRate"] for r in rows if r["x_InstanceType"] == DISCOUNTED} == {"0.700000"}
    # budgets are held to effective cost by default, to list cost when the document says so
    config = load_config(json.dumps({"budgets": [{"team": "search", "monthly_usd": "100"}]}), "budgets.json")
    (effective_status,) = budget_statuses(ledger, aws.region, config, aws.now)
    by_team = dict(effective.groups)
    assert effective_status.month_to_date == by_team["search"]
    listed_config = load_config(json.dumps({"budgets": [{"team": "search", "monthly_usd": "100"}], "cost": "list"}), "b.json")
    (list_status,) = budget_statuses(ledger, aws.region, listed_config, aws.now)
    assert list_status.month_to_date == dict(listed.groups)["search"] > effective_status.month_to_date


def month_range() -> tuple[Any, Any]:
    from spendwatch.core.timestamps import month_bounds

    return month_bounds(MONTH)


def test_an_override_rate_wins_and_chargeback_says_what_stayed_at_list(tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"effective_rates": {"*": {DISCOUNTED: "0.5"}}}))
    listed = chargeback_total("--cost", "list")
    result = invoke("chargeback", "--fleet", str(TINY_FLEET), "--month", MONTH, "--format", "json", "--prices", str(prices))
    report = json.loads(result.stdout)
    assert report["cost"] == "effective"
    at_list = Decimal(report["at_list_price_usd"])
    assert 0 < at_list < listed  # churn-model (m5.large) has no rate: at list
    assert Decimal(report["total_cost_usd"]) < listed
    rows = export_rows(tmp_path, "--prices", str(prices))
    assert focus.totals(rows, "EffectiveCost") == Decimal(report["total_cost_usd"])


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["export", "--format", "csv", "--month", MONTH], "--format"),
        (["export", "--format", "focus", "--month", "2026-13"], "--month"),
        (["export", "--format", "focus", "--month", MONTH, "-o", "out.xlsx"], "--output"),
        (["export", "--format", "focus", "--month", MONTH, "--billing-account-id", "12"], "--billing-account-id"),
        (["reconcile", "--bill", "no-such-bill.csv"], "--bill"),
        (["reconcile", "--bill", str(TINY_FLEET)], "--bill"),
        (["reconcile", "--bill", str(TINY_FLEET), "--tolerance", "lots"], "--tolerance"),
        (["chargeback", "--month", MONTH, "--cost", "cheapest"], "--cost"),
    ],
)
def test_bad_input_exits_2_naming_the_flag(args: list[str], flag: str) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "spendwatch.cli", *args, "--fleet", str(TINY_FLEET)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert flag in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


# -- the deployed path: Athena over the export in S3 ------------------------------------------


def test_the_templates_saved_query_is_the_one_the_cli_runs() -> None:
    from spendwatch.aws.athena import BILL_QUERY
    from tests.template import resource

    query = resource("ReconcileBillQuery")
    assert query["Condition"] == "HasBillExportTable"
    text, names = query["Properties"]["QueryString"]["Fn::Sub"]
    assert names == {"Table": {"Ref": "BillExportTable"}}
    assert text.replace("${Table}", "{table}") == BILL_QUERY


def test_the_athena_query_read_through_athena_reports_what_the_file_does(tiny_aws: AwsContext, tmp_path: Path) -> None:
    """The query runs (DuckDB runs the same SQL over the FOCUS bill, as Athena would over the
    export); its result comes back through the Athena API (moto), paged, and reconciles to
    the same three findings."""
    from moto.athena.models import QueryResults, athena_backends

    from spendwatch.aws.athena import BILL_QUERY, AthenaBill

    aws = tiny_aws
    assert aws.emulator is not None
    ledger = Ledger(aws.client("dynamodb"), aws.table_name(None), aws.retry)
    start = align_down(aws.emulator.history_start + timedelta(minutes=60) - timedelta(microseconds=1), 60)
    meter_as_scheduled(aws, ledger, start, align_down(aws.now, 60), 60, PriceSettings())
    records = list(ledger.records(aws.region, *month_range()))
    rows = focus.rows(records, focus.ExportContext(HOME, HOME, NO_RATES))
    bill_file = focus_bill(cur_bill(rows, tmp_path / "cur.csv.gz"), tmp_path / "focus-bill.parquet")
    connection = duckdb.connect()
    connection.execute("CREATE SCHEMA exports")
    connection.execute(f"CREATE VIEW exports.focus AS SELECT * FROM read_parquet('{bill_file}')")
    result = connection.execute(BILL_QUERY.format(table="exports.focus"), ["2026-11-01", "2026-12-01"]).fetchall()
    header = ["resource_id", "day", "usage_type", "paid", "listed", "line_count"]
    answer = [{"Data": [{"VarCharValue": name} for name in header]}]
    answer += [{"Data": [{"VarCharValue": str(value)} for value in row]} for row in result]
    backend = athena_backends[HOME][aws.region]
    backend.query_results_queue.append(QueryResults(rows=answer, column_info=[{"Name": n, "Type": "varchar"} for n in header]))
    athena = AthenaBill(aws.client("athena"), aws.retry, poll_s=0)
    bill = athena.read("exports.focus", "primary", date(2026, 11, 1), date(2026, 12, 1))
    assert bill.source == "athena:exports.focus"
    assert bill.days == read_bill(bill_file, "--bill", month_range()).days
    planted(list(reconcile(ledger, [(HOME, aws.region, aws.region)], HOME, bill, Decimal("0.01"), aws.now).findings))
    (execution,) = backend.executions.values()
    assert execution.execution_parameters == ["'2026-11-01'", "'2026-12-01'"]


def test_the_statement_shows_effective_cost_and_the_bill_for_the_teams_endpoints(tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"effective_rates": {"*": {DISCOUNTED: "0.7"}}}))
    bill = cur_bill(export_rows(tmp_path), tmp_path / "cur.csv.gz")
    args = ["--fleet", str(TINY_FLEET), "--month", MONTH, "--format", "json", "--prices", str(prices)]
    result = invoke("statement", *args, "--team", "search", "--bill", str(bill))
    assert result.exit_code == 0, result.output
    statement = json.loads(result.stdout)
    charged = json.loads(invoke("chargeback", *args).stdout)
    assert statement["cost"] == "effective"
    assert statement["total_cost_usd"] == next(g["cost_usd"] for g in charged["groups"] if g["key"] == "search")
    (line,) = statement["reconciled"]  # search's one endpoint; churn-model and the unknown endpoint are not the team's
    assert line["endpoint"] == "genai-shared"
    assert Decimal(line["billed_usd"]) == (Decimal(line["metered_usd"]) * Decimal("0.7")).quantize(Decimal("0.000001"))


def test_an_endpoints_own_override_rate_wins_over_its_instance_types(tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"effective_rates": {"*": {DISCOUNTED: "0.7"}, "us-east-1": {"endpoint/churn-model": "0.5"}}}))
    rows = export_rows(tmp_path, "--prices", str(prices))
    rates = {(r["ResourceName"], r["x_EffectiveRate"]) for r in rows}
    assert rates == {("genai-shared", "0.7"), ("churn-model", "0.5")}
    churn = [r for r in rows if r["ResourceName"] == "churn-model"]
    assert sum(Decimal(r["EffectiveCost"]) for r in churn) == sum(
        (Decimal(r["ListCost"]) * Decimal("0.5")).quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN) for r in churn
    )
