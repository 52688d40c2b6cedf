"""The fault suite: the demo fleet under throttling, server errors and lost write replies gives
what the fault-free run gives. No record lost or doubled, no total moved twice, no message
sent twice.

Injected server errors spare SNS Publish: a 5xx from Publish leaves unknown whether the
message went out, so the notifier keeps its claim and does not send again (a test below).
"""

from __future__ import annotations

import json
from datetime import timedelta
from importlib import resources
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from spendwatch.aws.ledger import Ledger
from spendwatch.aws.reports import ReportStore
from spendwatch.aws.sns import Publisher
from spendwatch.core.errors import AwsError
from spendwatch.services.meter import meter_as_scheduled
from spendwatch.services.notify import NotifySettings, prepare, send
from spendwatch.services.prices import PriceSettings
from spendwatch.services.scan import ScanSettings, run_scan
from spendwatch_emulator import LEDGER_TABLE, open_fleet
from spendwatch_emulator.fleet import parse_fleet

HOURS = 6  # the demo fleet's last hours, run by run as the schedule would


def demo(faults: dict[str, Any] | None) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((resources.files("spendwatch_emulator") / "data" / "demo-fleet.json").read_text())
    if faults is not None:
        doc["faults"] = faults
    return doc


def run_everything(faults: dict[str, Any] | None, lost_replies: float = 0.0) -> dict[str, Any]:
    with open_fleet(parse_fleet(demo(faults)), lost_replies=lost_replies, spared=frozenset({"Publish"})) as aws:
        assert aws.emulator is not None
        report = run_scan(aws, ScanSettings()).to_json()
        ledger = Ledger(aws.client("dynamodb"), LEDGER_TABLE, aws.retry)
        end = aws.now.replace(minute=0, second=0, microsecond=0)
        meter_as_scheduled(aws, ledger, end - timedelta(hours=HOURS), end, 60, PriceSettings())
        store = ReportStore(aws.client("dynamodb"), LEDGER_TABLE, aws.retry)
        store.put(report, aws.now, aws.region)
        topic = aws.client("sns").create_topic(Name="spendwatch")["TopicArn"]
        prepared = prepare(aws, ledger, store, NotifySettings(), aws.now)
        sent = send(Publisher(aws.client("sns"), aws.retry), ledger, aws.region, topic, prepared, aws.now)
        again = send(Publisher(aws.client("sns"), aws.retry), ledger, aws.region, topic, prepared, aws.now)
        published = aws.emulator.calls["Publish"]
        calls = sum(aws.emulator.calls.values())
        items = aws.client("dynamodb").scan(TableName=LEDGER_TABLE)["Items"]
    kept = sorted(
        (i for i in items if i["pk"]["S"].startswith(("REC#", "ROLLUP#"))), key=lambda i: (i["pk"]["S"], i["sk"]["S"])
    )
    return {
        "report": {k: v for k, v in report.items() if k != "scanned_at"},
        "ledger": kept,
        "messages": sorted(json.dumps(n.publish_request(topic), sort_keys=True) for n, _ in prepared.messages),
        "sent": sent,
        "sent_again": again,
        "publish_calls": published,
        "calls": calls,
    }


@pytest.fixture(scope="module")
def fault_free() -> dict[str, Any]:
    return run_everything(None)


@pytest.mark.parametrize("throttle_rate", [0.0, 0.1, 0.3])
def test_throttling_server_errors_and_lost_replies_change_nothing(fault_free: dict[str, Any], throttle_rate: float) -> None:
    faulty = run_everything({"throttle_rate": throttle_rate, "error_rate": 0.05, "seed": 11}, lost_replies=0.05)
    assert faulty["report"] == fault_free["report"]
    assert faulty["ledger"] == fault_free["ledger"]  # every record once, every rollup moved once
    assert faulty["messages"] == fault_free["messages"]
    assert faulty["sent"] == fault_free["sent"] == len(fault_free["messages"])
    assert faulty["sent_again"] == 0  # nothing is sent twice
    assert fault_free["sent"] > 0
    assert faulty["publish_calls"] >= fault_free["publish_calls"]
    assert faulty["calls"] > fault_free["calls"]  # the faults were there, and were outlasted


def test_a_publish_whose_outcome_is_unknown_is_not_sent_again() -> None:
    """SNS answered 500: the message may have gone out. Publish is not retried, the claim
    stays, and neither this run nor the next publishes it again; once the claim is stale
    (an hour) it is taken over and sent, once."""
    with open_fleet(parse_fleet(demo(None))) as aws:
        assert aws.emulator is not None
        report = run_scan(aws, ScanSettings()).to_json()
        store = ReportStore(aws.client("dynamodb"), LEDGER_TABLE, aws.retry)
        ledger = Ledger(aws.client("dynamodb"), LEDGER_TABLE, aws.retry)
        store.put(report, aws.now, aws.region)
        prepared = prepare(aws, ledger, store, NotifySettings(), aws.now)
        events = aws.session._session.get_component("event_emitter")
        publishes: list[int] = []

        def first_publish_fails(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
            publishes.append(1)
            if len(publishes) == 1:
                error = {"Error": {"Code": "InternalFailure", "Message": "<html>oops</html>"}}
                return AWSResponse("https://sns", 500, {}, None), error | {"ResponseMetadata": {"HTTPStatusCode": 500}}
            return None

        events.register_first("before-call.sns.Publish", first_publish_fails)  # before the client is made
        topic = aws.client("sns").create_topic(Name="spendwatch")["TopicArn"]
        publisher = Publisher(aws.client("sns"), aws.retry)
        with pytest.raises(AwsError) as caught:
            send(publisher, ledger, aws.region, topic, prepared, aws.now)
        attempts = len(publishes)
        rest = send(publisher, ledger, aws.region, topic, prepared, aws.now + timedelta(minutes=5))
        later = send(publisher, ledger, aws.region, topic, prepared, aws.now + timedelta(hours=2))
        total = len(publishes)
    assert caught.value.status == 500
    assert "HTTP 500" in str(caught.value)  # the status, not the error page
    assert attempts == 1  # never retried: it may have been delivered
    assert rest == len(prepared.messages) - 1  # the others go out; the ambiguous one waits
    assert later == 1  # its claim is stale two hours on: sent then, once
    assert total == len(prepared.messages) + 1
