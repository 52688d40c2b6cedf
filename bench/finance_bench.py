"""Finance at scale: reading a bill of a million lines (DuckDB), and turning a month of ledger
records into FOCUS rows.

    .venv/bin/python bench/finance_bench.py [--lines 1000000] [--records 200000]

Prints wall time and peak memory (RSS) of each step. The bill is a CUR 2.0 CSV.gz with hourly
lines of 1,400 endpoints and other services' lines mixed in, as a month of a busy account.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from spendwatch.cli.bills import read_bill
from spendwatch.core import focus
from spendwatch.core.effective import NO_RATES
from spendwatch.core.metering import Basis, CostRecord, RecordKind

START = datetime(2026, 11, 1, tzinfo=UTC)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_bill(path: Path, lines: int) -> None:
    header = [
        "line_item_usage_account_id",
        "line_item_line_item_type",
        "line_item_usage_type",
        "line_item_resource_id",
        "line_item_usage_start_date",
        "line_item_usage_end_date",
        "line_item_unblended_cost",
        "pricing_public_on_demand_cost",
        "savings_plan_savings_plan_effective_cost",
        "reservation_effective_cost",
    ]
    with gzip.open(path, "wt", newline="", compresslevel=1) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for i in range(lines):
            hour = START + timedelta(hours=i // 1400 % 720)
            end = hour + timedelta(hours=1)
            if i % 5 == 4:  # other services' lines
                bucket = f"bucket-{i % 97}"
                writer.writerow(["123456789012", "Usage", "USE1-TimedStorage-ByteHrs", bucket, hour, end, "0.01", "0.01", "", ""])
                continue
            endpoint = f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep-{i % 1400:04d}"
            writer.writerow(
                ["123456789012", "Usage", "USE1-Host:ml.g6.12xlarge", endpoint, hour, end, "5.752", "5.752", "", ""]
            )


def records(count: int) -> list[CostRecord]:
    out = []
    for i in range(count):
        start = START + timedelta(hours=i // 200 % 720)
        kind = RecordKind.COMPONENT if i % 4 else RecordKind.UNALLOCATED
        out.append(
            CostRecord(
                region="us-east-1",
                interval_start=start,
                interval_end=start + timedelta(hours=1),
                endpoint_name=f"ep-{i // 4 % 50:03d}",
                variant_name="AllTraffic",
                kind=kind,
                inference_component_name=f"ic-{i % 4}" if kind is RecordKind.COMPONENT else None,
                model_name=None,
                instance_type="ml.g6.12xlarge",
                gpu_seconds=Decimal(3600),
                core_seconds=Decimal(0),
                instance_seconds=Decimal(3600),
                cost_usd=Decimal("1.438"),
                basis=Basis.METRICS,
                price_usd_per_hour=Decimal("5.752"),
                price_source="bench",
                tags={"team": "search"},
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--records", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bill_path = Path(tmp) / "cur.csv.gz"
        started = time.perf_counter()
        write_bill(bill_path, args.lines)
        size = bill_path.stat().st_size / 2**20
        print(f"bill: {args.lines:,} lines, {size:.1f} MiB gzip, written in {time.perf_counter() - started:.1f} s")
        before = peak_mib()
        started = time.perf_counter()
        bill = read_bill(bill_path, "--bill", None)
        took = time.perf_counter() - started
        print(
            f"read_bill: {took:.2f} s, {len(bill.days):,} endpoint days from {bill.lines_read:,} lines; "
            f"peak RSS {peak_mib():.0f} MiB (before: {before:.0f} MiB)"
        )
        parquet = Path(tmp) / "cur.parquet"
        duckdb.sql(f"COPY (SELECT * FROM read_csv('{bill_path}', all_varchar = true)) TO '{parquet}' (FORMAT parquet)")  # noqa: S608
        started = time.perf_counter()
        same = read_bill(parquet, "--bill", None)
        took = time.perf_counter() - started
        assert same.days == bill.days
        print(f"read_bill (the same bill as Parquet, {parquet.stat().st_size / 2**20:.1f} MiB): {took:.2f} s")
    batch = records(args.records)
    started = time.perf_counter()
    rows = focus.rows(batch, focus.ExportContext("123456789012", "123456789012", NO_RATES))
    took = time.perf_counter() - started
    print(f"focus.rows: {len(rows):,} rows in {took:.2f} s ({len(rows) / took:,.0f} rows/s); peak RSS {peak_mib():.0f} MiB")


if __name__ == "__main__":
    main()
