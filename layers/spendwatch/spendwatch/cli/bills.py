"""Bills and datasets on disk, through DuckDB (the CLI's engine for files of millions of lines;
the deployed stack's is Athena, over the export in S3: template.yaml's ``ReconcileQuery``).

``read_bill`` keeps a bill's SageMaker hosting lines (usage type ``*Host:ml.*``, resource id an
endpoint ARN) and sums them per endpoint, day and instance type, whatever its format:

* FOCUS 1.2 (AWS Data Exports "FOCUS 1.2 with AWS columns"): paid = ``EffectiveCost`` (a
  Savings Plan covered hour is billed 0 and paid through the plan, which ``EffectiveCost``
  amortizes), list = ``ListCost``, usage type = ``x_UsageType`` (else ``SkuMeter``), charges of
  category ``Usage`` only;
* CUR 2.0: paid = ``savings_plan_savings_plan_effective_cost`` for ``SavingsPlanCoveredUsage``,
  ``reservation_effective_cost`` for ``DiscountedUsage``, else ``line_item_unblended_cost``; list
  = ``pricing_public_on_demand_cost``; line item types ``Usage``, ``SavingsPlanCoveredUsage`` and
  ``DiscountedUsage`` only (a plan's negation and recurring fee are not endpoint usage).

CSV or Parquet (told by the file's first bytes), gzip or not (DuckDB reads ``.gz`` itself).

The SQL is composed from fixed column names and the file's path (quotes doubled), never from
the file's contents; values that vary (a period's bounds) are bound parameters.
"""

# ruff: noqa: S608

from __future__ import annotations

import gzip
import tempfile
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from spendwatch.core import focus
from spendwatch.core.errors import InputError
from spendwatch.core.reconcile import Bill, BillDay

FOCUS_NEEDS = ("ResourceId", "ChargePeriodStart", "EffectiveCost", "ListCost", "ChargeCategory")
CUR_NEEDS = (
    "line_item_resource_id",
    "line_item_usage_start_date",
    "line_item_usage_type",
    "line_item_line_item_type",
    "line_item_unblended_cost",
)
CUR_USAGE = ("Usage", "SavingsPlanCoveredUsage", "DiscountedUsage")


def _connect() -> Any:
    try:
        import duckdb
    except ImportError as exc:  # the cli extra is not installed
        raise InputError("--bill", f"needs DuckDB: pip install 'spendwatch[cli]' ({exc.name} is missing)") from None
    connection = duckdb.connect(":memory:")
    connection.execute("SET TimeZone = 'UTC'")
    return connection


def _source(path: Path, flag: str) -> str:
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except OSError as exc:
        raise InputError(flag, f"cannot read {path}: {exc.strerror}") from None
    literal = str(path).replace("'", "''")
    if head == b"PAR1":
        return f"read_parquet('{literal}')"
    if head[:2] == b"\x1f\x8b":
        return f"read_csv('{literal}', header = true, all_varchar = true, compression = 'gzip')"
    return f"read_csv('{literal}', header = true, all_varchar = true)"


def read_bill(path: Path, flag: str, bounds: tuple[datetime, datetime] | None) -> Bill:
    """The bill's hosting lines, summed per endpoint ARN, day and usage type."""
    connection = _connect()
    source = _source(path, flag)
    try:
        columns = {row[0] for row in connection.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    except Exception as exc:  # DuckDB's errors: a file that is not a readable CSV or Parquet
        raise InputError(flag, f"{path} is not a readable CSV or Parquet bill: {str(exc).splitlines()[0]}") from None
    if set(FOCUS_NEEDS) <= columns:
        kind, query = "focus-1.2", _focus_query(source, columns)
    elif set(CUR_NEEDS) <= columns:
        kind, query = "cur-2.0", _cur_query(source, columns)
    else:
        missing = sorted(set(FOCUS_NEEDS) - columns)
        what = f"{path} is neither a FOCUS 1.2 nor a CUR 2.0 export"
        raise InputError(flag, f"{what} (FOCUS columns missing: {', '.join(missing)})")
    where = ""
    parameters: list[Any] = []
    if bounds is not None:
        where = "WHERE charge_start >= CAST(? AS TIMESTAMPTZ) AND charge_start < CAST(? AS TIMESTAMPTZ)"
        parameters = [bounds[0].isoformat(), bounds[1].isoformat()]
    sql = f"""
        WITH lines AS ({query})
        SELECT resource_id, CAST(charge_start AS DATE) AS day, usage_type,
               SUM(paid) AS paid, SUM(listed) AS listed, COUNT(*) AS line_count
        FROM lines {where}
        GROUP BY ALL ORDER BY ALL
    """
    try:
        found = connection.execute(sql, parameters).fetchall()  # one pass over the file
    except Exception as exc:
        raise InputError(flag, f"{path}: a value could not be read: {str(exc).splitlines()[0]}") from None
    days = []
    for resource_id, day, usage, paid, listed, count in found:
        days.append(
            BillDay.of(
                resource_id=resource_id,
                day=day if isinstance(day, date) else date.fromisoformat(str(day)),
                usage_type=usage,
                billed=Decimal(paid or 0),
                listed=None if listed is None else Decimal(listed),
                lines=int(count),
            )
        )
    return Bill(source=str(path), format=kind, days=tuple(days), lines_read=sum(d.lines for d in days))


def _focus_query(source: str, columns: set[str]) -> str:
    usage = "COALESCE(x_UsageType, SkuMeter)" if "x_UsageType" in columns and "SkuMeter" in columns else (
        "x_UsageType" if "x_UsageType" in columns else "SkuMeter" if "SkuMeter" in columns else "SkuId"
    )
    end = "CAST(ChargePeriodEnd AS TIMESTAMPTZ)" if "ChargePeriodEnd" in columns else "NULL"
    return f"""
        SELECT ResourceId AS resource_id, CAST(ChargePeriodStart AS TIMESTAMPTZ) AS charge_start, {end} AS charge_end,
               {usage} AS usage_type,
               CAST(EffectiveCost AS DECIMAL(38, 10)) AS paid,
               CAST(NULLIF(CAST(ListCost AS VARCHAR), '') AS DECIMAL(38, 10)) AS listed
        FROM {source}
        WHERE ChargeCategory = 'Usage' AND {usage} LIKE '%Host:ml.%' AND ResourceId LIKE 'arn:aws:sagemaker:%:endpoint/%'
    """


def _cur_query(source: str, columns: set[str]) -> str:
    def column(name: str) -> str:
        return f"CAST(NULLIF(CAST({name} AS VARCHAR), '') AS DECIMAL(38, 10))" if name in columns else "NULL"

    listed = column("pricing_public_on_demand_cost")
    types = ", ".join(f"'{t}'" for t in CUR_USAGE)
    end = "CAST(line_item_usage_end_date AS TIMESTAMPTZ)" if "line_item_usage_end_date" in columns else "NULL"
    return f"""
        SELECT line_item_resource_id AS resource_id, CAST(line_item_usage_start_date AS TIMESTAMPTZ) AS charge_start,
               {end} AS charge_end, line_item_usage_type AS usage_type,
               CASE line_item_line_item_type
                   WHEN 'SavingsPlanCoveredUsage' THEN {column('savings_plan_savings_plan_effective_cost')}
                   WHEN 'DiscountedUsage' THEN {column('reservation_effective_cost')}
                   ELSE {column('line_item_unblended_cost')} END AS paid,
               {listed} AS listed
        FROM {source}
        WHERE line_item_line_item_type IN ({types}) AND line_item_usage_type LIKE '%Host:ml.%'
          AND line_item_resource_id LIKE 'arn:aws:sagemaker:%:endpoint/%'
    """


def parse_tolerance(text: str, flag: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InputError(flag, f"a share such as 0.01 (1 %), got {text!r}") from None
    if not value.is_finite() or value < 0 or value >= 1:
        raise InputError(flag, f"a share from 0 up to 1 (0.01 = 1 %), got {text!r}")
    return value


def output_kind(output: str, flag: str) -> str:
    if output == "-":
        return "csv"
    lowered = output.lower()
    for suffix, kind in ((".csv.gz", "csv.gz"), (".csv", "csv"), (".parquet", "parquet")):
        if lowered.endswith(suffix):
            return kind
    raise InputError(flag, f"name a .csv, .csv.gz or .parquet file (or - for stdout), got {output!r}")


def check_writable(output: str, flag: str) -> None:
    """The file can be written (its folder exists), checked before any work."""
    if output == "-":
        return
    folder = Path(output).resolve().parent
    if not folder.is_dir():
        raise InputError(flag, f"{folder} is not a folder that exists")
    if Path(output).is_dir():
        raise InputError(flag, f"{output} is a folder, not a file")


class FocusWriter:
    """Writes FOCUS rows as they come (a day at a time), keeping running totals: to stdout,
    or to a file that appears whole at the end (written beside it, then renamed); Parquet is
    staged as gzip CSV and converted by DuckDB, typed."""

    def __init__(self, output: str, kind: str) -> None:
        self.output = output
        self.kind = kind
        self.count = 0
        self.list_cost = Decimal(0)
        self.effective_cost = Decimal(0)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._handle: Any = None
        self._staged: Path | None = None

    def __enter__(self) -> FocusWriter:
        import csv
        import sys

        if self.output == "-":
            self._handle = sys.stdout
        else:
            self._tmp = tempfile.TemporaryDirectory(dir=Path(self.output).resolve().parent, prefix=".spendwatch-export-")
            self._staged = Path(self._tmp.name) / ("focus.csv.gz" if self.kind in ("parquet", "csv.gz") else "focus.csv")
            self._handle = (
                gzip.open(self._staged, "wt", newline="", encoding="utf-8")
                if self.kind in ("parquet", "csv.gz")
                else self._staged.open("w", newline="", encoding="utf-8")
            )
        self._writer = csv.DictWriter(self._handle, fieldnames=list(focus.COLUMNS), lineterminator="\n")
        self._writer.writeheader()
        return self

    def write(self, rows: list[dict[str, str]]) -> None:
        self._writer.writerows(rows)
        self.count += len(rows)
        self.list_cost += focus.totals(rows, "ListCost")
        self.effective_cost += focus.totals(rows, "EffectiveCost")

    def __exit__(self, exc_type: object, *_: object) -> None:
        try:
            if self.output == "-":
                self._handle.flush()
                return
            self._handle.close()
            if exc_type is not None:
                return
            assert self._staged is not None
            if self.kind == "parquet":
                _to_parquet(self._staged, Path(self.output))
            else:
                self._staged.replace(self.output)
        finally:
            if self._tmp is not None:
                self._tmp.cleanup()


def _to_parquet(staged: Path, path: Path) -> None:
    """The staged rows as Parquet, typed: money and quantities DECIMAL, periods TIMESTAMP WITH TIME ZONE."""
    connection = _connect()
    casts = []
    for name in focus.COLUMNS:
        if name in focus.MONEY_COLUMNS or name in focus.PRICE_COLUMNS or name in focus.QUANTITY_COLUMNS:
            casts.append(f"CAST(NULLIF({name}, '') AS DECIMAL(38, 10)) AS {name}")
        elif name in focus.TIME_COLUMNS:
            casts.append(f"CAST({name} AS TIMESTAMPTZ) AS {name}")
        else:
            casts.append(f"NULLIF({name}, '') AS {name}")
    literal = str(path).replace("'", "''")
    source = str(staged).replace("'", "''")
    try:
        connection.execute(
            f"COPY (SELECT {', '.join(casts)} FROM read_csv('{source}', header = true, all_varchar = true)) "
            f"TO '{literal}' (FORMAT parquet)"
        )
    except Exception as exc:
        raise InputError("--output", f"cannot write {path}: {str(exc).splitlines()[0]}") from None
