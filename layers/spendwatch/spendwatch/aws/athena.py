"""Amazon Athena: the deployed stack's engine for the bill (AWS Data Exports' FOCUS 1.2 export
in S3 runs to millions of lines). One query, ``BILL_QUERY``, sums the hosting lines per
endpoint, day and usage type; template.yaml saves the same text as the ``ReconcileBillQuery``
named query (a test keeps the two equal), and the CLI's ``reconcile --athena-table`` runs it.
The SQL is standard enough that DuckDB runs it too (the tests do, over a local bill).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from spendwatch.aws.retry import DEFAULT_RETRY, RetryPolicy
from spendwatch.core.errors import AwsError, InputError
from spendwatch.core.reconcile import Bill, BillDay

IAM_ACTIONS = ("athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults")

BILL_QUERY = """SELECT ResourceId AS resource_id,
       CAST(ChargePeriodStart AS DATE) AS day,
       COALESCE(x_UsageType, SkuMeter) AS usage_type,
       SUM(CAST(EffectiveCost AS DECIMAL(38, 10))) AS paid,
       SUM(CAST(ListCost AS DECIMAL(38, 10))) AS listed,
       COUNT(*) AS line_count
FROM {table}
WHERE ChargeCategory = 'Usage'
  AND COALESCE(x_UsageType, SkuMeter) LIKE '%Host:ml.%'
  AND ResourceId LIKE 'arn:aws:sagemaker:%:endpoint/%'
  AND CAST(ChargePeriodStart AS DATE) >= CAST(? AS DATE)
  AND CAST(ChargePeriodStart AS DATE) < CAST(? AS DATE)
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3"""
"""The bill's hosting lines of ``[first day, last day)`` per endpoint ARN, day and usage type
(paid = EffectiveCost, list = ListCost). Parameters: the first day and the day after the last,
as ``YYYY-MM-DD``."""

DONE = ("SUCCEEDED", "FAILED", "CANCELLED")
TIMEOUT_S = 600.0


def check_table(name: str, flag: str) -> str:
    """``database.table``: letters, digits and underscores (it is written into the SQL)."""
    parts = name.split(".")
    if len(parts) != 2 or not all(p and all(c.isalnum() or c == "_" for c in p) for p in parts):
        raise InputError(flag, f"expected database.table (letters, digits, underscores), got {name!r}")
    return name


class AthenaBill:
    def __init__(
        self,
        client: Any,
        retry: RetryPolicy = DEFAULT_RETRY,
        poll_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self._client = client
        self._retry = retry
        self._poll_s = poll_s
        self._sleep = sleep
        self._timeout_s = timeout_s

    def read(self, table: str, workgroup: str, first: date, after_last: date) -> Bill:
        """Run ``BILL_QUERY`` over ``table`` and read its result as a Bill."""
        started = self._retry.call(
            "StartQueryExecution",
            self._client.start_query_execution,
            QueryString=BILL_QUERY.format(table=table),
            WorkGroup=workgroup,
            ExecutionParameters=[f"'{first.isoformat()}'", f"'{after_last.isoformat()}'"],
        )
        execution_id = started["QueryExecutionId"]
        waited = 0.0
        while True:
            status = self._retry.call("GetQueryExecution", self._client.get_query_execution, QueryExecutionId=execution_id)
            state = status["QueryExecution"]["Status"]
            if state["State"] in DONE:
                break
            if waited >= self._timeout_s:
                still = f"query {execution_id} still {state['State']} after {waited:.0f} s"
                raise AwsError("GetQueryExecution", "Timeout", still)
            self._sleep(self._poll_s)
            waited += self._poll_s
        if state["State"] != "SUCCEEDED":
            reason = state.get("StateChangeReason", "no reason given")
            raise AwsError("StartQueryExecution", state["State"], f"query {execution_id} over {table}: {reason}")
        days = [self._day(row) for row in self._rows(execution_id)]
        return Bill(source=f"athena:{table}", format="focus-1.2", days=tuple(days), lines_read=sum(d.lines for d in days))

    def _rows(self, execution_id: str) -> list[list[str | None]]:
        rows: list[list[str | None]] = []
        token: str | None = None
        first_page = True
        while True:
            kwargs: dict[str, Any] = {"QueryExecutionId": execution_id}
            if token:
                kwargs["NextToken"] = token
            page = self._retry.call("GetQueryResults", self._client.get_query_results, **kwargs)
            found = [[cell.get("VarCharValue") for cell in row.get("Data", [])] for row in page["ResultSet"].get("Rows", [])]
            rows.extend(found[1:] if first_page else found)  # the first row of the first page is the header
            first_page = False
            token = page.get("NextToken")
            if not token:
                return rows

    @staticmethod
    def _day(row: list[str | None]) -> BillDay:
        resource_id, day, usage, paid, listed, count = (row + [None] * 6)[:6]
        return BillDay.of(
            resource_id=resource_id or "",
            day=date.fromisoformat((day or "")[:10]),
            usage_type=usage or "",
            billed=Decimal(paid or 0),
            listed=None if listed is None else Decimal(listed),
            lines=int(count or 0),
        )
