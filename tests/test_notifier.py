"""The notifier against moto's SNS, with an SQS queue per audience subscribed through filter
policies: what each subscriber receives, in which shape, how often."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from spendwatch.aws.ledger import Ledger
from spendwatch.aws.reports import ReportStore
from spendwatch.aws.session import lambda_aws
from spendwatch.aws.sns import Publisher
from spendwatch.core.errors import AwsError
from spendwatch.core.metering import Basis, CostRecord, RecordKind
from spendwatch.core.notifications import MAX_MESSAGE_BYTES, idle_digests, request_bytes
from spendwatch.services.notify import NotifySettings, prepare, send
from spendwatch_emulator.emulator import EmulatedAws
from tests.lambdas import TABLE, Context, load_handler, run_in, sample_event
from tests.template import resource

CHATBOT_CONTENT = {"textType", "title", "description", "nextSteps", "keywords"}
CHATBOT_METADATA = {"threadId", "summary", "eventType", "relatedResources", "additionalContext"}


@dataclass
class Audience:
    aws: EmulatedAws
    topic: str
    queues: dict[str, str]

    def received(self, name: str) -> list[dict[str, Any]]:
        sqs = self.aws.client("sqs")
        messages: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(QueueUrl=self.queues[name], MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                messages.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queues[name], ReceiptHandle=message["ReceiptHandle"])

    def emails(self) -> list[str]:
        from moto.sns.models import sns_backends

        topic = sns_backends["123456789012"]["us-east-1"].topics[self.topic]
        return [json.loads(message)["email"] for _, message, *_ in topic.sent_notifications]


def subscribe(aws: EmulatedAws, topic: str, name: str, policy: dict[str, Any] | None) -> str:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {"FilterPolicy": json.dumps(policy)} if policy else {}
    aws.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes)
    return url


@pytest.fixture
def audience(lambda_env: None, tiny_fleet: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Audience]:
    for aws in run_in(tiny_fleet):
        topic = aws.client("sns").create_topic(Name="spendwatch-notifications")["TopicArn"]
        monkeypatch.setenv("SPENDWATCH_TOPIC_ARN", topic)
        queues = {
            "docs": subscribe(aws, topic, "team-docs", {"team": ["docs"]}),
            "critical": subscribe(aws, topic, "critical", {"severity": ["critical"]}),
            "everything": subscribe(aws, topic, "platform", None),
        }
        yield Audience(aws, topic, queues)


def chatbot(envelope: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(envelope["Message"])
    assert (document["version"], document["source"]) == ("1.0", "custom")
    assert set(document["content"]) >= CHATBOT_CONTENT
    assert document["content"]["textType"] == "client-markdown"
    assert set(document["metadata"]) >= CHATBOT_METADATA
    assert isinstance(document["content"]["nextSteps"], list)
    return document


def attributes(envelope: dict[str, Any]) -> dict[str, str]:
    return {k: v["Value"] for k, v in envelope["MessageAttributes"].items()}


def test_idle_digests_per_team_reach_exactly_their_subscribers(audience: Audience) -> None:
    load_handler("idle_scan")(sample_event("idle_scan"), Context())
    summary = load_handler("notifier")(sample_event("notifier"), Context())
    assert (summary["idle_digests"], summary["budget_alerts"]) == (2, 0)

    (docs,) = audience.received("docs")
    assert attributes(docs) == {"kind": "idle-report", "severity": "warning", "team": "docs"}
    assert len(docs["Subject"]) < 100
    assert "\n" not in docs["Subject"]
    card = chatbot(docs)
    assert "ic-summarize" in card["content"]["description"]
    assert "Scale copies to zero" in card["content"]["nextSteps"]
    assert {attributes(m)["team"] for m in audience.received("everything")} == {"docs", "growth"}
    assert audience.received("critical") == []

    growth_email = next(e for e in audience.emails() if "team growth" in e)
    assert "endpoint churn-model: idle, idle since 2026-11-19T02:00:00Z, $0.115/h" in growth_email
    assert "-> delete" in growth_email
    assert "wasted since idle" in growth_email


def test_a_second_run_sends_nothing_new(audience: Audience) -> None:
    load_handler("idle_scan")(sample_event("idle_scan"), Context())
    notifier = load_handler("notifier")
    notifier(sample_event("notifier"), Context())
    again = notifier(sample_event("notifier"), Context())
    assert again["sent"] == 0
    assert len(audience.received("everything")) == 2


# -- budgets: thresholds alert once a month ---------------------------------------------------


def spend(ledger: Ledger, team: str, amount: str, when: datetime, resource_name: str) -> None:
    ledger.write(
        [
            CostRecord(
                region="us-east-1",
                interval_start=when,
                interval_end=when.replace(hour=when.hour + 1),
                endpoint_name=resource_name,
                variant_name="AllTraffic",
                kind=RecordKind.ENDPOINT,
                inference_component_name=None,
                model_name=None,
                instance_type="ml.m5.large",
                gpu_seconds=Decimal(0),
                core_seconds=Decimal(0),
                instance_seconds=Decimal(3600),
                cost_usd=Decimal(amount),
                basis=Basis.ALLOCATION,
                price_usd_per_hour=Decimal(amount),
                price_source="test",
                tags={"team": team},
            )
        ]
    )


def run_budgets(audience: Audience, now: datetime, budget: str) -> list[dict[str, Any]]:
    document = {"budgets": [{"team": "search", "monthly_usd": budget}], "forecast_pct": None}
    aws = lambda_aws("us-east-1", now)
    ssm = aws.client("ssm")
    ssm.put_parameter(Name="/spendwatch/budgets", Type="String", Value=json.dumps(document), Overwrite=True)
    ledger = Ledger(aws.client("dynamodb"), TABLE)
    prepared = prepare(aws, ledger, None, NotifySettings(budgets_parameter="/spendwatch/budgets"), now)
    send(Publisher(aws.client("sns")), ledger, "us-east-1", audience.topic, prepared, now)
    return [m for m in audience.received("everything") if attributes(m)["kind"] == "budget"]


def test_budget_thresholds_alert_once_per_month(audience: Audience) -> None:
    ledger = Ledger(audience.aws.client("dynamodb"), TABLE)
    spend(ledger, "search", "85", datetime(2026, 11, 10, 5, tzinfo=UTC), "ep-a")

    (first,) = run_budgets(audience, datetime(2026, 11, 20, 6, tzinfo=UTC), "100")  # 85 %: crosses 50 and 80
    assert attributes(first) == {"kind": "budget", "severity": "warning", "team": "search"}
    assert "threshold 80%" in first["Subject"]
    assert "85%" in chatbot(first)["content"]["description"]

    assert run_budgets(audience, datetime(2026, 11, 20, 18, tzinfo=UTC), "100") == []  # same day: nothing new

    spend(ledger, "search", "20", datetime(2026, 11, 21, 5, tzinfo=UTC), "ep-a")
    (second,) = run_budgets(audience, datetime(2026, 11, 21, 6, tzinfo=UTC), "100")  # 105 %
    assert attributes(second)["severity"] == "critical"
    assert audience.received("critical") != []

    spend(ledger, "search", "90", datetime(2026, 12, 2, 5, tzinfo=UTC), "ep-a")
    (december,) = run_budgets(audience, datetime(2026, 12, 2, 6, tzinfo=UTC), "100")  # a new month starts fresh
    assert "2026-12" in december["Subject"]
    assert "threshold 80%" in december["Subject"]


def test_forecast_over_budget_alerts_before_the_month_ends(audience: Audience) -> None:
    ledger = Ledger(audience.aws.client("dynamodb"), TABLE)
    for day in range(1, 6):
        spend(ledger, "search", "10", datetime(2026, 11, day, 5, tzinfo=UTC), "ep-a")
    aws = lambda_aws("us-east-1", datetime(2026, 11, 6, 6, tzinfo=UTC))
    aws.client("ssm").put_parameter(
        Name="/b", Type="String", Value=json.dumps({"budgets": [{"team": "search", "monthly_usd": "200"}]})
    )
    prepared = prepare(aws, ledger, None, NotifySettings(budgets_parameter="/b"), aws.now)
    (status,) = prepared.statuses
    assert status.month_to_date == 50
    assert status.forecast > 200  # about 10 a day for 24 more days
    assert [n.kind for n, _ in prepared.messages] == ["budget"]
    assert prepared.messages[0][0].state_key[-1] == "forecast"


def test_a_bad_budget_tag_is_reported_and_the_rest_still_work(lambda_env: None, tiny_fleet: dict[str, Any]) -> None:
    tiny_fleet["endpoints"][0]["tags"]["spendwatch:budget-usd"] = "lots"
    tiny_fleet["endpoints"][1]["tags"]["spendwatch:budget-usd"] = "1"
    for emulator in run_in(tiny_fleet):
        aws = lambda_aws("us-east-1", datetime(2026, 11, 20, 6, tzinfo=UTC))
        prepared = prepare(aws, Ledger(emulator.client("dynamodb"), TABLE), None, NotifySettings(), aws.now)
        assert prepared.problems == ["endpoint genai-shared: tag spendwatch:budget-usd: not a decimal number: 'lots'"]
        assert [s.budget.key for s in prepared.statuses] == ["churn-model"]


# -- size and failure ---------------------------------------------------------------------------


def big_report(n: int) -> dict[str, Any]:
    return {
        "scanned_at": "2026-11-20T06:00:00Z",
        "lookback_hours": 24,
        "history_hours": 336,
        "endpoints": [
            {
                "endpoint_name": f"forgotten-endpoint-number-{i:05d}-with-a-long-name",
                "status": "idle",
                "hourly_cost_usd": "1.515000",
                "idle_since": "2026-11-01T00:00:00Z",
                "owner": "research",
                "created_at": "2026-08-01T00:00:00Z",
                "kind": "real-time",
                "hosts_inference_components": False,
            }
            for i in range(n)
        ],
        "inference_components": [],
    }


def test_a_report_of_2000_idle_resources_is_cut_to_fit_never_dropped(audience: Audience) -> None:
    (digest,) = idle_digests(big_report(2000), "us-east-1", "2026-11-20T06:00:00Z")
    request = digest.publish_request(audience.topic)
    assert request_bytes(request) <= MAX_MESSAGE_BYTES
    cut = [line for line in digest.email.splitlines() if re.fullmatch(r"- and \d+ more", line)]
    assert len(cut) == 1
    shown = sum(1 for line in digest.email.splitlines() if line.startswith("- endpoint "))
    assert shown + int(cut[0].split()[2]) == 2000  # every resource is either listed or counted
    assert "2000 idle SageMaker resources" in digest.subject
    Publisher(audience.aws.client("sns")).publish(request)  # SNS accepts it
    (received,) = audience.received("everything")
    assert "…and" in chatbot(received)["content"]["description"]


def test_a_failing_publish_leaves_the_report_to_the_next_attempt(audience: Audience, monkeypatch: pytest.MonkeyPatch) -> None:
    load_handler("idle_scan")(sample_event("idle_scan"), Context())
    monkeypatch.setenv("SPENDWATCH_TOPIC_ARN", audience.topic.replace("spendwatch-notifications", "deleted-topic"))
    with pytest.raises(AwsError):  # Lambda retries the event, then sends it to the dead-letter queue
        load_handler("notifier")(sample_event("notifier"), Context())
    assert ReportStore(audience.aws.client("dynamodb"), TABLE).latest("us-east-1") is not None
    monkeypatch.setenv("SPENDWATCH_TOPIC_ARN", audience.topic)
    retried = load_handler("notifier")(sample_event("notifier"), Context())
    assert retried["idle_digests"] == 2
    assert len(audience.received("everything")) == 2


def test_the_notifier_is_retried_then_dead_lettered() -> None:
    props = resource("NotifierFunction")["Properties"]
    assert "DeadLetterQueue" in props or "EventInvokeConfig" in props


def test_a_broken_budgets_document_still_lets_the_idle_digests_go_out(
    audience: Audience, monkeypatch: pytest.MonkeyPatch
) -> None:
    audience.aws.client("ssm").put_parameter(Name="/spendwatch/budgets", Type="String", Value="{not json")
    monkeypatch.setenv("SPENDWATCH_BUDGETS_PARAMETER", "/spendwatch/budgets")
    load_handler("idle_scan")(sample_event("idle_scan"), Context())
    summary = load_handler("notifier")(sample_event("notifier"), Context())
    assert summary["idle_digests"] == 2
    (problem,) = summary["budget_problems"]
    assert "budgets" in problem  # it names the budgets document, not the prices parameter
    assert "prices" not in problem
