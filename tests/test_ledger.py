"""The ledger in moto's DynamoDB, its table built from template.yaml: replays and overlaps
change nothing, rollups always equal their records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from spendwatch.aws.ledger import Ledger
from spendwatch.aws.session import AwsContext
from spendwatch.core.ledger import GROUP_KEYS, TABLE_DEFINITION
from spendwatch.services.chargeback import run_chargeback
from spendwatch.services.meter import run_meter
from spendwatch.services.prices import PriceSettings
from tests.conftest import emulated
from tests.fleets import component, endpoint, fleet, gpu_endpoint, seg
from tests.template import create_table, resource

NOW = datetime(2026, 11, 20, 6, tzinfo=UTC)
TABLE = "ledger-under-test"


def snapshot(aws: AwsContext) -> list[dict[str, Any]]:
    items = aws.client("dynamodb").scan(TableName=TABLE)["Items"]
    return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


@pytest.fixture
def aws(tiny_fleet: dict[str, Any]) -> Iterator[AwsContext]:
    with emulated(tiny_fleet) as context:
        create_table(context.client("dynamodb"), TABLE)
        yield context


def meter(aws: AwsContext, start_hours_ago: int, end_hours_ago: int = 0) -> Any:
    ledger = Ledger(aws.client("dynamodb"), TABLE, aws.retry)
    return run_meter(
        aws, ledger, NOW - timedelta(hours=start_hours_ago), NOW - timedelta(hours=end_hours_ago), 60, PriceSettings()
    )


def totals(aws: AwsContext) -> dict[str, dict[str, Decimal]]:
    ledger = Ledger(aws.client("dynamodb"), TABLE, aws.retry)
    return {by: dict(run_chargeback(ledger, "us-east-1", by, month="2026-11").groups) for by in GROUP_KEYS}


def test_code_and_template_define_the_same_table() -> None:
    props = resource("LedgerTable")["Properties"]
    for key in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode"):
        assert props[key] == TABLE_DEFINITION[key], key
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert resource("LedgerTable")["DeletionPolicy"] == "Retain"


def test_metering_the_same_hours_twice_changes_nothing(aws: AwsContext) -> None:
    first = meter(aws, 6)
    before, before_totals = snapshot(aws), totals(aws)
    second = meter(aws, 6)
    assert (first.written, first.existing) == (24, 0)
    assert (second.written, second.existing) == (0, 24)
    assert snapshot(aws) == before
    assert totals(aws) == before_totals


def test_overlapping_ranges_equal_one_run(tiny_fleet: dict[str, Any]) -> None:
    with emulated(tiny_fleet) as aws:
        create_table(aws.client("dynamodb"), TABLE)
        meter(aws, 6, 2)
        meter(aws, 4, 0)  # 02:00-04:00 of the first range again
        overlapped, overlapped_totals = snapshot(aws), totals(aws)
    with emulated(tiny_fleet) as fresh:
        create_table(fresh.client("dynamodb"), TABLE)
        meter(fresh, 6)
        assert snapshot(fresh) == overlapped
        assert totals(fresh) == overlapped_totals


def test_rollups_equal_the_records_they_summarise(aws: AwsContext) -> None:
    meter(aws, 24)
    ledger = Ledger(aws.client("dynamodb"), TABLE, aws.retry)
    month = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    for by in GROUP_KEYS:
        from_rollups = run_chargeback(ledger, "us-east-1", by, month="2026-11")
        from_records = run_chargeback(ledger, "us-east-1", by, start=month[0], end=month[1])
        assert from_rollups.groups == from_records.groups, by
        assert from_rollups.total == Decimal("5.867") * 24


def test_many_records_in_one_write_are_split_into_transactions() -> None:
    doc = fleet(*(gpu_endpoint(f"ep-{i}", [component(f"ic-{i}", tags={"team": f"t{i}"})]) for i in range(40)))
    with emulated(doc) as aws:
        create_table(aws.client("dynamodb"), TABLE)
        run = meter(aws, 1)
        assert run.written == 80
        assert aws.emulator is not None
        assert aws.emulator.calls["TransactWriteItems"] > 1
        assert totals(aws)["team"]["t7"] == Decimal("1.438000")


def test_a_partly_written_batch_completes_without_double_counting(aws: AwsContext) -> None:
    meter(aws, 2, 1)  # 04:00-05:00 already in the ledger
    run = meter(aws, 3)  # 03:00-06:00: a third of it new... and a third already there
    assert (run.written, run.existing) == (8, 4)
    assert totals(aws)["endpoint"] == {"genai-shared": Decimal("17.256000"), "churn-model": Decimal("0.345000")}


def test_excluded_endpoints_are_still_charged() -> None:
    doc = fleet(
        endpoint(
            "kept",
            tags={"spendwatch:ignore": "true", "team": "legal"},
            traffic=[seg("2026-11-20T01:00:00Z", "2026-11-20T02:00:00Z")],
        )
    )
    with emulated(doc) as aws:
        create_table(aws.client("dynamodb"), TABLE)
        meter(aws, 2)
        assert totals(aws)["team"] == {"legal": Decimal("0.230000")}
