"""What a hostile tester tried: one retry budget, errors a user can act on, parts that cannot
mix, spreadsheet-safe CSV, settings checked where they are read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from spendwatch.aws.reports import ReportStore
from spendwatch.aws.retry import DEFAULT_RETRY, OutOfTime, RetryPolicy
from spendwatch.aws.sagemaker import SageMakerInventory
from spendwatch.aws.session import BOTOCORE_CONFIG
from spendwatch.core.chargeback import Chargeback, spreadsheet_safe
from spendwatch.core.errors import AwsError, InputError
from spendwatch.lambdas.config import IdleScanConfig, NotifierConfig
from spendwatch_emulator import LEDGER_TABLE
from tests.conftest import REPO, emulated
from tests.fleets import endpoint, fleet

TINY = str(REPO / "fleets" / "tiny-fleet.json")


def spendwatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spendwatch.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


# -- retries ------------------------------------------------------------------------------------


def throttled(**_: Any) -> dict[str, Any]:
    raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "ListEndpoints")


def test_botocore_does_not_retry_under_ours() -> None:
    assert BOTOCORE_CONFIG.retries == {"mode": "standard", "total_max_attempts": 1}


def test_the_worst_case_wait_of_one_persistently_throttled_call_fits_the_deadline_margin() -> None:
    waits: list[float] = []
    policy = RetryPolicy(sleep=waits.append)
    with pytest.raises(AwsError) as caught:
        policy.call("ListEndpoints", throttled)
    assert caught.value.code == "ThrottlingException"
    assert len(waits) == policy.attempts - 1  # 8 attempts, one layer: not 88
    assert sum(waits) <= policy.worst_case_s() == pytest.approx(22.6)
    assert DEFAULT_RETRY.worst_case_s() < 90  # the meter's default deadline margin


def test_retries_stop_at_the_deadline() -> None:
    waits: list[float] = []
    policy = RetryPolicy(sleep=waits.append).with_deadline(lambda: 0.0)
    with pytest.raises(OutOfTime):
        policy.call("ListEndpoints", throttled)
    assert waits == []


def test_a_lost_reply_becomes_a_domain_error_and_an_unsafe_call_is_not_repeated() -> None:
    calls = []

    def timeout(**_: Any) -> dict[str, Any]:
        calls.append(1)
        raise ReadTimeoutError(endpoint_url="https://sns.us-east-1.amazonaws.com")

    with pytest.raises(AwsError) as caught:
        RetryPolicy(sleep=lambda _: None).unsafe().call("Publish", timeout)
    assert caught.value.code == "ConnectionLost"
    assert calls == [1]


def test_a_persistent_5xx_says_its_status_not_the_error_page() -> None:
    def broken(**_: Any) -> dict[str, Any]:
        raise ClientError(
            {
                "Error": {"Code": "502", "Message": "<html><body>Bad Gateway</body></html>"},
                "ResponseMetadata": {"HTTPStatusCode": 502},
            },
            "ListEndpoints",
        )

    with pytest.raises(AwsError) as caught:
        RetryPolicy(sleep=lambda _: None).call("ListEndpoints", broken)
    assert "HTTP 502" in str(caught.value)
    assert "<html>" not in str(caught.value)


# -- a region without inference components -------------------------------------------------------


def test_a_region_without_inference_components_scans_its_classic_endpoints(caplog: pytest.LogCaptureFixture) -> None:
    with emulated(fleet(endpoint("classic"))) as aws:
        client = aws.client("sagemaker")

        def unknown(**_: Any) -> dict[str, Any]:
            raise ClientError(
                {
                    "Error": {"Code": "UnknownOperationException", "Message": "no such operation"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                "ListInferenceComponents",
            )

        client.list_inference_components = unknown
        inventory = SageMakerInventory(client, aws.retry).collect(aws.region)
    assert [e.name for e in inventory.endpoints] == ["classic"]
    assert inventory.components_listed is False
    assert sum("ListInferenceComponents is not available" in r.message for r in caplog.records) == 1


# -- reports in parts -------------------------------------------------------------------------------


def test_report_parts_of_an_interrupted_write_never_mix_with_a_retry() -> None:
    with emulated(fleet(endpoint("ep"))) as aws:
        client = aws.client("dynamodb")
        store = ReportStore(client, LEDGER_TABLE, aws.retry, part_bytes=64)
        first = {"summary": {}, "lookback_hours": 24, "rows": [f"first-{i}" for i in range(200)]}
        second = {"summary": {}, "lookback_hours": 24, "rows": [f"second-{i}" for i in range(300)]}
        # The first attempt wrote its parts, then died before its head.
        stored = store.put(first, aws.now, aws.region)
        client.delete_item(TableName=LEDGER_TABLE, Key={"pk": {"S": stored.key[0]}, "sk": {"S": stored.key[1]}})
        assert store.put(second, aws.now, aws.region).created
        assert store.latest(aws.region) == second


# -- errors a user meets first ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["scan", "--region", "us-east-1", "--profile", "no-such-profile"], "--profile"),
        (["scan", "--region", "US East 1"], "--region"),
        (["scan", "--region", "us-east-1", "--endpoint-url", "ftp://example"], "--endpoint-url"),
        (
            [
                "chargeback",
                "--table",
                "t",
                "--region",
                "us-east-1",
                "--start",
                "9999-01-01T00:00:00Z",
                "--end",
                "9999-01-02T00:00:00Z",
            ],
            "--start",
        ),
        (
            [
                "chargeback",
                "--table",
                "t",
                "--region",
                "us-east-1",
                "--start",
                "0001-01-01T00:00:00Z",
                "--end",
                "0001-01-02T00:00:00Z",
            ],
            "--start",
        ),
        (["notify", "--fleet", TINY, "--publish", "--topic-arn", "arn:aws:sns:us-east-1:nope"], "--topic-arn"),
        (["notify", "--fleet", TINY, "--thresholds", "50,,80"], "--thresholds"),
    ],
)
def test_bad_flags_get_one_line_naming_the_flag_and_exit_2(args: list[str], flag: str) -> None:
    started = time.monotonic()
    result = spendwatch(*args)
    assert result.returncode == 2, result.stderr
    assert flag in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 30


def test_no_credentials_is_one_line_and_exit_1(tmp_path: Path) -> None:
    env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_EC2_METADATA_DISABLED": "true"}
    env |= {"AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    result = spendwatch("scan", "--region", "us-east-1", env=env)
    assert result.returncode == 1
    assert "credentials" in one_line(result)


def test_an_unreachable_endpoint_is_one_line_exit_1_within_seconds() -> None:
    started = time.monotonic()
    result = spendwatch("scan", "--region", "us-east-1", "--endpoint-url", "http://127.0.0.1:9")
    assert result.returncode == 1
    line = one_line(result)
    assert "ListEndpoints" in line
    assert "cannot reach" in line
    assert time.monotonic() - started < 30


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"spec_version": 1, "now": "2026-11-20T06:00:00Z", "history_hours": Infinity}', "history_hours"),
        (b'{"spec_version": 1, "now": "9999-11-20T06:00:00Z"}', "year 9999"),
    ],
)
def test_a_bad_fleet_file_is_one_line_exit_2(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "fleet.json"
    path.write_bytes(content)
    result = spendwatch("scan", "--fleet", str(path))
    assert result.returncode == 2
    assert expected in one_line(result)


@pytest.mark.parametrize(
    ("price", "expected"),
    [("Infinity", "finite"), ("0.11500000000000000001", "decimal places"), ("1e40", "under")],
)
def test_a_bad_price_file_is_one_line_exit_2(tmp_path: Path, price: str, expected: str) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"prices_usd_per_hour": {"us-east-1": {"ml.m5.large": price}}}))
    result = spendwatch("scan", "--fleet", TINY, "--prices", str(path))
    assert result.returncode == 2
    assert expected in one_line(result)


def test_error_text_is_not_eaten_by_the_terminal_renderer(tmp_path: Path) -> None:
    path = tmp_path / "[abc] fleet.json"
    result = spendwatch("scan", "--fleet", str(path))
    assert result.returncode == 2
    assert "[abc] fleet.json" in one_line(result)


# -- spreadsheets and settings -----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["=HYPERLINK(1)", "+1", "-1+2", "@SUM(A1)", "\tx"])
def test_csv_cells_that_start_like_formulas_are_neutralised(value: str) -> None:
    assert spreadsheet_safe(value) == "'" + value
    from datetime import UTC, datetime
    from decimal import Decimal

    rows = Chargeback(
        datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC), "team", ((value, Decimal(1)),)
    ).to_csv_rows()
    assert rows[1] == ["'" + value, "1.000000"]


def test_plain_tag_values_are_left_alone() -> None:
    assert spreadsheet_safe("search-team") == "search-team"


BASE = {"SPENDWATCH_TABLE_NAME": "t", "AWS_REGION": "us-east-1"}


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({"SPENDWATCH_TOPIC_ARN": "arn:aws:sqs:us-east-1:123456789012:q"}, "SPENDWATCH_TOPIC_ARN"),
        ({"SPENDWATCH_TOPIC_ARN": "arn:nope"}, "SPENDWATCH_TOPIC_ARN"),
        ({"SPENDWATCH_METRICS_NAMESPACE": "AWS/SageMaker"}, "SPENDWATCH_METRICS_NAMESPACE"),
        ({"SPENDWATCH_BUDGET_THRESHOLDS": "50,,80"}, "SPENDWATCH_BUDGET_THRESHOLDS"),
    ],
)
def test_notifier_settings_are_checked_naming_the_variable(env: dict[str, str], field: str) -> None:
    settings = {**BASE, "SPENDWATCH_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:spendwatch", **env}
    with pytest.raises(InputError) as caught:
        NotifierConfig.from_env(settings)
    assert caught.value.field == field


def test_a_good_namespace_passes() -> None:
    assert IdleScanConfig.from_env({**BASE, "SPENDWATCH_METRICS_NAMESPACE": "Team/Spendwatch"}).namespace == "Team/Spendwatch"


# -- cancelled transactions and metrics emitted once ---------------------------------------------------


def test_a_transaction_cancelled_by_a_conflict_is_tried_again_and_written_once() -> None:
    from botocore.awsrequest import AWSResponse

    from spendwatch.aws.ledger import Ledger
    from spendwatch.services.chargeback import run_chargeback
    from spendwatch.services.meter import run_meter
    from spendwatch.services.prices import PriceSettings

    doc = fleet(endpoint("ep", created_at="2026-11-01T00:00:00Z"), prices_usd_per_hour={"ml.m5.large": "0.115"})
    with emulated(doc) as aws:
        conflicts = iter([True, True])

        def conflict(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
            if next(conflicts, False):
                error = {
                    "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                    "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}],
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                }
                return AWSResponse("https://dynamodb", 400, {}, None), error
            return None

        aws.session._session.get_component("event_emitter").register_first("before-call.dynamodb.TransactWriteItems", conflict)
        ledger = Ledger(aws.client("dynamodb"), LEDGER_TABLE, aws.retry)
        run = run_meter(aws, ledger, aws.now - timedelta(hours=1), aws.now, 60, PriceSettings())
        total = run_chargeback(ledger, aws.region, "endpoint", month="2026-11").total
    assert run.written == 1
    assert total == Decimal("0.115")


def test_an_interval_replayed_after_a_failed_advance_emits_its_metrics_once(
    lambda_env: None, tiny_fleet: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    import boto3

    from tests.lambdas import Context, emf_documents, load_handler, run_in, wall_clock

    event = {"source": "spendwatch.schedule", "task": "meter", "scheduled_time": "2026-11-20T06:15:00Z"}
    with wall_clock("2026-11-20T06:20:00Z"):
        for _ in run_in(tiny_fleet):
            events = boto3.DEFAULT_SESSION._session.get_component("event_emitter")
            failed = iter([True])

            def fail_first_advance(failed: Any = failed, **_: Any) -> None:
                if next(failed, False):
                    raise RuntimeError("killed after writing, before recording progress")

            events.register_first("before-call.dynamodb.UpdateItem", fail_first_advance)
            with pytest.raises(RuntimeError):
                load_handler("cost_meter")(event, Context())
            load_handler("cost_meter")(event, Context())
    metered = [d for d in emf_documents(capsys.readouterr().out) if "MeteredIntervals" in d]
    assert sum(d["MeteredIntervals"] for d in metered) == 24  # each of the 24 hours once, not 25
