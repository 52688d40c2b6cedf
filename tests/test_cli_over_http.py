"""The real CLI, as a separate process, over HTTP against moto's server (also a separate process, on 127.0.0.1):
the code path a real account takes (botocore's endpoints, signing, serialisation, the retry layer), end to end,
for what moto serves: classic SageMaker endpoints, CloudWatch metrics, DynamoDB, SNS (delivering to SQS), SSM.

moto has no inference components and no CloudTrail event history: it answers both operations with a bare HTTP 500
(not an AWS error). spendwatch takes that as "not available" after a few quick tries: the scan and the meter carry on
with classic endpoints and say so once, and a deletion the meter notices is charged until last seen, with a finding.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from spendwatch.aws.cloudtrail import CloudTrailHistory
from spendwatch.aws.reports import ReportStore
from spendwatch.aws.retry import NO_WAIT_RETRY
from spendwatch.aws.sagemaker import SageMakerInventory
from spendwatch.core.errors import AwsError
from tests.template import create_table

REGION = "us-east-1"
TABLE = "spendwatch-over-http"
BUDGETS_PARAMETER = "/spendwatch/budgets"
PRICES_PARAMETER = "/spendwatch/prices"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/serve:1"
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=30)


@dataclass(frozen=True)
class Spec:
    name: str
    instance_type: str
    instances: int
    tags: dict[str, str]
    hourly_usd: str
    """What the scan must say it costs per hour (built-in price, or the prices parameter's)."""
    status: str
    """What the scan must classify it as."""


ESTATE = (
    Spec("chat-api", "ml.g4dn.xlarge", 1, {"team": "search", "cost-center": "cc-100"}, "0.736400", "active"),
    Spec("churn-model", "ml.m5.large", 2, {"team": "growth"}, "0.230000", "idle"),
    Spec("fraud-batch", "ml.c5.xlarge", 1, {"team": "risk", "spendwatch:ignore": "true"}, "0.204000", "excluded"),
    # ml.t2.large has no built-in price: the SSM prices parameter gives it one.
    Spec("ranker-v2", "ml.t2.large", 1, {"team": "search"}, "0.111000", "idle"),
)
PRICES = {"prices_usd_per_hour": {REGION: {"ml.t2.large": "0.111"}}}
BUDGETS = {
    "budgets": [{"team": "search", "monthly_usd": "0.50"}, {"team": "growth", "monthly_usd": "1000"}],
    "thresholds_pct": [50, 80, 100],
}


@dataclass
class Estate:
    url: str
    env: dict[str, str]
    topic_arn: str
    queue_url: str
    started: datetime
    inventory_error: AwsError | None
    """What spendwatch's inventory made of moto's ListInferenceComponents answer (None: it carried on)."""
    lookup_error: AwsError | None
    """What spendwatch's CloudTrail adapter made of moto's LookupEvents answer (None: it worked)."""
    results: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=NO_RETRIES,
        )


def _answer(exc: AwsError) -> str:
    return f"HTTP {exc.status}, error code {exc.code!r} ({exc})"


def needs_inventory(estate: Estate) -> None:
    assert estate.inventory_error is None, _answer(estate.inventory_error)


def spendwatch(estate: Estate, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    """``python -m spendwatch.cli ARGS --endpoint-url URL --region us-east-1``, as a user would run it."""
    command = [sys.executable, "-m", "spendwatch.cli", *args, "--endpoint-url", estate.url, "--region", REGION]
    done = subprocess.run(command, env=estate.env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == expect, (
        f"{' '.join(args)} exited {done.returncode}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    )
    return done


def cli_env(home: Path) -> dict[str, str]:
    """The machine's environment without any AWS configuration: test credentials, no profile, an empty home (so
    no price cache or config file of the machine's is read)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SPENDWATCH_"))}
    env |= {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "HOME": str(home),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "COLUMNS": "200",
    }
    return env


def seed(estate: Estate) -> None:
    sagemaker = estate.client("sagemaker")
    for spec in ESTATE:
        sagemaker.create_model(ModelName=f"{spec.name}-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
        sagemaker.create_endpoint_config(
            EndpointConfigName=f"{spec.name}-config",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": f"{spec.name}-model",
                    "InitialInstanceCount": spec.instances,
                    "InstanceType": spec.instance_type,
                }
            ],
        )
        sagemaker.create_endpoint(
            EndpointName=spec.name,
            EndpointConfigName=f"{spec.name}-config",
            Tags=[{"Key": k, "Value": v} for k, v in spec.tags.items()],
        )
    # Traffic on chat-api only, in the last hours (moto keeps the timestamps it is given).
    estate.client("cloudwatch").put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [{"Name": "EndpointName", "Value": "chat-api"}, {"Name": "VariantName", "Value": "AllTraffic"}],
                "Timestamp": estate.started - timedelta(minutes=minutes),
                "Value": 4.0,
                "Unit": "None",
            }
            for minutes in (3, 17, 45, 130)
        ],
    )
    create_table(estate.client("dynamodb"), TABLE)
    ssm = estate.client("ssm")
    ssm.put_parameter(Name=BUDGETS_PARAMETER, Type="String", Value=json.dumps(BUDGETS))
    ssm.put_parameter(Name=PRICES_PARAMETER, Type="String", Value=json.dumps(PRICES))


@pytest.fixture(scope="module")
def estate(moto_server: str, tmp_path_factory: pytest.TempPathFactory) -> Estate:
    started = datetime.now(UTC)
    blank = Estate(moto_server, cli_env(tmp_path_factory.mktemp("home")), "", "", started, None, None)
    seed(blank)
    sns, sqs = blank.client("sns"), blank.client("sqs")
    topic_arn = sns.create_topic(Name="spendwatch-notifications")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="spendwatch-notifications-copy")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)

    # What spendwatch's own adapters make of moto's answers, without their retry waits.
    inventory_error = lookup_error = None
    try:
        SageMakerInventory(blank.client("sagemaker"), NO_WAIT_RETRY).collect(REGION)
    except AwsError as exc:
        inventory_error = exc
    try:
        CloudTrailHistory(blank.client("cloudtrail"), NO_WAIT_RETRY).deletions(started - timedelta(days=1), started)
    except AwsError as exc:
        lookup_error = exc
    return Estate(moto_server, blank.env, topic_arn, queue_url, started, inventory_error, lookup_error)


def test_moto_serves_the_classic_estate(estate: Estate) -> None:
    """The seeding itself went over HTTP, and reads back as a real account would show it."""
    sagemaker = estate.client("sagemaker")
    endpoints = {e["EndpointName"]: e for e in sagemaker.list_endpoints()["Endpoints"]}
    assert set(endpoints) == {s.name for s in ESTATE}
    assert {e["EndpointStatus"] for e in endpoints.values()} == {"InService"}
    # moto's clock runs behind (conftest): the endpoints existed through every window the CLI reads.
    assert all(e["CreationTime"] < estate.started - timedelta(days=1) for e in endpoints.values())
    table = estate.client("dynamodb").describe_table(TableName=TABLE)["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]


def test_list_inference_components_answer(estate: Estate) -> None:
    """What moto's server answers for ListInferenceComponents, and whether spendwatch carries on with classic
    endpoints (it must: a region or an emulator without inference components)."""
    try:
        answer = estate.client("sagemaker").list_inference_components()
    except ClientError as exc:
        status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
        code = exc.response["Error"]["Code"]
        assert estate.inventory_error is None or (estate.inventory_error.code, estate.inventory_error.status) == (code, status)
    else:
        assert answer["InferenceComponents"] == []
    needs_inventory(estate)


def test_without_an_event_history_deletions_are_unknown_not_an_error(estate: Estate) -> None:
    """moto's server has no LookupEvents: the meter's history reader says so and finds nothing."""
    history = CloudTrailHistory(estate.client("cloudtrail"), NO_WAIT_RETRY)
    assert history.deletions(estate.started - timedelta(days=1), estate.started) == []
    assert estate.lookup_error is None
    assert estate.inventory_error is None


def test_scan(estate: Estate) -> None:
    needs_inventory(estate)
    done = spendwatch(estate, "scan", "--format", "json", "--prices-parameter", PRICES_PARAMETER)
    report = json.loads(done.stdout)
    estate.results["scan"] = report
    by_name = {e["endpoint_name"]: e for e in report["endpoints"]}
    assert {name: e["status"] for name, e in by_name.items()} == {s.name: s.status for s in ESTATE}
    assert {name: e["hourly_cost_usd"] for name, e in by_name.items()} == {s.name: s.hourly_usd for s in ESTATE}
    assert by_name["chat-api"]["invocations"] == 16
    assert by_name["churn-model"]["invocations"] == 0
    assert report["inference_components"] == []
    assert report["summary"]["idle_endpoints"] == 2
    assert report["summary"]["idle_hourly_cost_usd"] == "0.341000"  # churn-model + ranker-v2
    assert report["summary"]["unpriced_instance_types"] == []
    # Inference components unavailable: said once, on stderr, and the scan went on.
    assert sum("ListInferenceComponents" in line for line in done.stderr.splitlines()) == 1, done.stderr


def test_chargeback_reads_the_ledger_over_http(estate: Estate) -> None:
    """No inventory needed: a month nothing was metered in totals to zero (a Query per rollup, over HTTP)."""
    done = spendwatch(estate, "chargeback", "--table", TABLE, "--month", "2020-01", "--format", "json", "--by", "model")
    result = json.loads(done.stdout)
    assert (result["groups"], result["total_cost_usd"], result["by"]) == ([], "0.000000", "model")
    assert result["start"] == "2020-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def metered(estate: Estate) -> dict[str, Any]:
    """One meter run over the last two whole hours (they have ended, by the real clock)."""
    needs_inventory(estate)
    end = estate.started.replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=2)
    window = ("--start", f"{start:%Y-%m-%dT%H:%M:%SZ}", "--end", f"{end:%Y-%m-%dT%H:%M:%SZ}")
    args = ("meter", "--table", TABLE, *window, "--prices-parameter", PRICES_PARAMETER, "--format", "json")
    run: dict[str, Any] = json.loads(spendwatch(estate, *args).stdout)
    run["start"], run["end"], run["args"] = start, end, args
    return run


def test_meter(estate: Estate, metered: dict[str, Any]) -> None:
    records = metered["records"]
    assert metered["intervals"] == 2
    # Every classic endpoint, excluded ones too, charged whole for both hours (it existed throughout).
    assert sorted((r["endpoint_name"], r["kind"], r["interval_start"]) for r in records) == sorted(
        (s.name, "endpoint", f"{metered['start'] + timedelta(hours=h):%Y-%m-%dT%H:%M:%SZ}") for s in ESTATE for h in (0, 1)
    )
    hourly = {s.name: Decimal(s.hourly_usd) for s in ESTATE}
    assert all(Decimal(r["cost_usd"]) == hourly[r["endpoint_name"]] for r in records)
    assert Decimal(metered["total_cost_usd"]) == 2 * sum(hourly.values())
    assert metered["written"] == len(records) == 8
    assert metered["already_in_ledger"] == 0

    again = json.loads(spendwatch(estate, *metered["args"]).stdout)
    assert (again["written"], again["already_in_ledger"]) == (0, 8)  # idempotent: conditional writes over HTTP
    assert again["total_cost_usd"] == metered["total_cost_usd"]


def test_chargeback(estate: Estate, metered: dict[str, Any]) -> None:
    month = f"{metered['start']:%Y-%m}"
    expected: dict[str, Decimal] = defaultdict(Decimal)
    team = {s.name: s.tags["team"] for s in ESTATE}
    for record in metered["records"]:
        if record["interval_start"].startswith(month):
            expected[team[record["endpoint_name"]]] += Decimal(record["cost_usd"])
    result = json.loads(spendwatch(estate, "chargeback", "--table", TABLE, "--month", month, "--format", "json").stdout)
    assert {g["key"]: Decimal(g["cost_usd"]) for g in result["groups"]} == expected
    assert Decimal(result["total_cost_usd"]) == sum(expected.values())


def _month_to_date(metered: dict[str, Any], team_name: str) -> Decimal:
    month = f"{datetime.now(UTC):%Y-%m}"
    team = {s.name: s.tags["team"] for s in ESTATE}
    return sum(
        (
            Decimal(r["cost_usd"])
            for r in metered["records"]
            if team[r["endpoint_name"]] == team_name and r["interval_start"].startswith(month)
        ),
        Decimal(0),
    )


def test_budgets(estate: Estate, metered: dict[str, Any]) -> None:
    done = spendwatch(estate, "budgets", "--table", TABLE, "--budgets-parameter", BUDGETS_PARAMETER, "--format", "json")
    budgets = {(b["scope"], b["key"]): b for b in json.loads(done.stdout)["budgets"]}
    assert set(budgets) == {("team", "search"), ("team", "growth")}
    search, growth = budgets["team", "search"], budgets["team", "growth"]
    assert Decimal(search["month_to_date_usd"]) == _month_to_date(metered, "search")
    assert Decimal(growth["month_to_date_usd"]) == _month_to_date(metered, "growth")
    assert BUDGETS_PARAMETER in search["source"]
    # search's 0.50 USD is spent (unless the window lay wholly in the previous month); growth's 1000 is not.
    spent = _month_to_date(metered, "search") >= Decimal("0.50")
    assert ("100" in search["thresholds_crossed"]) == spent
    assert not {"50", "80", "100"} & set(growth["thresholds_crossed"])


def _kind(message: dict[str, Any]) -> str:
    kind: str = message["MessageAttributes"]["kind"]["StringValue"]
    return kind


def test_notify_publishes_to_sns(estate: Estate, metered: dict[str, Any]) -> None:
    # The nightly Lambda stores its scan; so does the CLI's with --store, so notify works outside Lambda.
    stored = spendwatch(estate, "scan", "--store", "--table", TABLE, "--prices-parameter", PRICES_PARAMETER, "--format", "json")
    report = json.loads(stored.stdout)
    run = {key: report.pop(key) for key in ("api_calls", "failures")}  # about the run, not the report
    assert run["failures"] == []
    assert run["api_calls"]["ListEndpoints"] >= 1
    stored_report = ReportStore(estate.client("dynamodb"), TABLE, NO_WAIT_RETRY).latest(REGION)
    assert stored_report is not None
    advice = stored_report.pop("advice")  # the right-sizing advice rides with it, for the digest
    assert {e["endpoint_name"] for e in advice["endpoints"]} <= {e["endpoint_name"] for e in report["endpoints"]}
    assert stored_report == report

    args = ("notify", "--table", TABLE, "--budgets-parameter", BUDGETS_PARAMETER, "--publish", "--topic-arn", estate.topic_arn)
    messages = json.loads(spendwatch(estate, *args).stdout)["messages"]
    kinds = sorted(_kind(m) for m in messages)
    teams = {m["MessageAttributes"]["team"]["StringValue"] for m in messages if _kind(m) == "idle-report"}
    assert teams == {"growth", "search"}  # churn-model, ranker-v2; fraud-batch is excluded
    if _month_to_date(metered, "search") >= Decimal("0.50"):
        assert "budget" in kinds
    assert all(m["TopicArn"] == estate.topic_arn and m["MessageStructure"] == "json" for m in messages)

    # SNS really got them: the topic's SQS subscription holds one message per Publish.
    received: list[dict[str, Any]] = []
    sqs = estate.client("sqs")
    while True:
        batch = sqs.receive_message(QueueUrl=estate.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            break
        received += [json.loads(m["Body"]) for m in batch]
    assert sorted(r["Subject"] for r in received) == sorted(m["Subject"] for m in messages)
    assert sorted(r["MessageAttributes"]["kind"]["Value"] for r in received) == kinds

    # Sent is remembered: publishing again sends nothing.
    assert json.loads(spendwatch(estate, *args).stdout)["messages"] == []


def test_meter_after_a_deletion_reads_cloudtrail(estate: Estate, metered: dict[str, Any]) -> None:
    """Last: it deletes an endpoint. The meter saw ranker-v2; now it is gone, so the meter asks CloudTrail when."""
    assert estate.lookup_error is None
    needs_inventory(estate)
    estate.client("sagemaker").delete_endpoint(EndpointName="ranker-v2")
    run = json.loads(spendwatch(estate, *metered["args"]).stdout)
    assert run["written"] == 0  # the window was metered already; nothing is charged twice
    assert any(f["endpoint_name"] == "ranker-v2" and f["kind"] == "deletion-time-unknown" for f in run["findings"])
