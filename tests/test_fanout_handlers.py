"""The functions as the fan-out state machine calls them (OrganizationMode on): the targets
function lists the (account, region) targets and reports the failed ones by name; the
scan, meter and notifier read the target they are given, through its member role, into
the one central ledger."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from spendwatch.core.errors import AwsError, InputError
from spendwatch_emulator.emulator import EmulatedAws
from tests.fleets import LONG_AGO, NOW, component, endpoint, seg
from tests.lambdas import TABLE, Context, emf_documents, load_handler, run_in, wall_clock

CENTRAL, MEMBER = "123456789012", "111111111111"
ROLE = f"arn:aws:iam::{MEMBER}:role/spendwatch-member"
PRICES = {"ml.m5.large": "0.128", "ml.g6.12xlarge": "6.120"}


def _estate(account: str, region: str) -> dict[str, Any]:
    shared = endpoint(
        "genai-shared",
        instance_type="ml.g6.12xlarge",
        components=[component("ic-chat", traffic=[seg("2026-11-19T12:00:00Z", NOW, 120)], tags={"team": "search"})],
        tags={"team": "platform"},
    )
    return {"account_id": account, "region": region, "endpoints": [shared, endpoint("churn", created_at=LONG_AGO)]}


ORG = {
    "spec_version": 1,
    "now": NOW,
    "history_hours": 30,
    "prices_usd_per_hour": PRICES,
    "estates": [_estate(CENTRAL, "us-east-1"), _estate(MEMBER, "us-east-1"), _estate(MEMBER, "eu-west-1")],
}


def fanout(task: str, **extra: Any) -> dict[str, Any]:
    return {"source": "spendwatch.fanout", "task": task, "scheduled_time": "2026-11-20T06:15:00Z", **extra}


@pytest.fixture
def org(lambda_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatedAws]:
    monkeypatch.setenv("SPENDWATCH_REGIONS", "us-east-1,eu-west-1")
    monkeypatch.setenv("SPENDWATCH_MEMBER_EXTERNAL_ID", "spendwatch-test")
    monkeypatch.setenv("SPENDWATCH_REFRESH_PRICES", "true")  # eu-west-1 has no built-in price: the Price List API's
    with wall_clock("2026-11-20T06:20:00Z"):
        yield from run_in(ORG)


def _keys(org: EmulatedAws, prefix: str) -> list[str]:
    items = org.client("dynamodb").scan(TableName=TABLE)["Items"]
    return sorted({i["pk"]["S"] for i in items if i["pk"]["S"].startswith(prefix)})


def test_targets_are_every_account_of_the_organization_in_every_region(org: EmulatedAws) -> None:
    listed = load_handler("targets")(fanout("cost-meter", action="list"), Context())
    assert listed["targets"] == [
        {"account_id": MEMBER, "region": "eu-west-1", "role_arn": ROLE},
        {"account_id": MEMBER, "region": "us-east-1", "role_arn": ROLE},
        {"account_id": CENTRAL, "region": "eu-west-1", "role_arn": None},  # its own credentials
        {"account_id": CENTRAL, "region": "us-east-1", "role_arn": None},
    ]


def test_targets_from_the_accounts_parameter(org: EmulatedAws, monkeypatch: pytest.MonkeyPatch) -> None:
    accounts = {"accounts": [{"account_id": MEMBER, "role": "spendwatch-member", "regions": ["eu-west-1"]}]}
    org.client("ssm").put_parameter(Name="/spendwatch/accounts", Value=json.dumps(accounts), Type="String")
    monkeypatch.setenv("SPENDWATCH_ACCOUNTS_PARAMETER", "/spendwatch/accounts")
    listed = load_handler("targets")(fanout("idle-scan", action="list"), Context())
    assert listed["targets"] == [{"account_id": MEMBER, "region": "eu-west-1", "role_arn": ROLE}]


def test_the_report_names_each_failed_target_and_counts_it(org: EmulatedAws, capsys: pytest.CaptureFixture[str]) -> None:
    results = [
        {"target": {"account_id": CENTRAL, "region": "us-east-1", "role_arn": None}, "result": {"stored": True}},
        {
            "target": {"account_id": MEMBER, "region": "eu-west-1", "role_arn": ROLE},
            "error": {"Error": "AwsError", "Cause": "..."},
        },
    ]
    report = load_handler("targets")(fanout("idle-scan", action="report", results=results), Context())
    assert report["failed"] == [f"{MEMBER} eu-west-1: AwsError"]
    counts = [d for d in emf_documents(capsys.readouterr().out) if "FailedTargets" in d]
    assert [(d["Task"], d["FailedTargets"], d["SucceededTargets"]) for d in counts] == [("idle-scan", 1, 1)]


def test_the_meter_of_a_member_target_writes_its_own_place_in_the_central_ledger(
    org: EmulatedAws, capsys: pytest.CaptureFixture[str]
) -> None:
    target = {"account_id": MEMBER, "region": "eu-west-1", "role_arn": ROLE}
    summary = load_handler("cost_meter")(fanout("cost-meter", target=target), Context())
    assert (summary["account_id"], summary["region"], summary["intervals"]) == (MEMBER, "eu-west-1", 24)
    assert summary["records_written"] > 0
    assert _keys(org, "REC#") == [f"REC#{MEMBER}:eu-west-1#2026-11-19", f"REC#{MEMBER}:eu-west-1#2026-11-20"]
    assert _keys(org, "STATE#meter#") == [f"STATE#meter#{MEMBER}:eu-west-1"]
    accounts = [d for d in emf_documents(capsys.readouterr().out) if "AccountCostUsd" in d]
    assert {(d["AccountId"], d["Region"]) for d in accounts} == {(MEMBER, "eu-west-1")}
    assert org.calls_by_estate[(MEMBER, "eu-west-1")]["ListEndpoints"] >= 1


def test_the_scan_of_a_member_target_stores_its_own_report(org: EmulatedAws) -> None:
    target = {"account_id": MEMBER, "region": "us-east-1", "role_arn": ROLE}
    summary = load_handler("idle_scan")(fanout("idle-scan", target=target), Context())
    assert (summary["account_id"], summary["region"], summary["endpoints"]) == (MEMBER, "us-east-1", 2)
    assert summary["report_key"]["pk"] == f"REPORT#idle-scan#{MEMBER}:us-east-1"


def test_a_member_whose_role_cannot_be_assumed_fails_naming_the_call(
    org: EmulatedAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = {"account_id": "444444444444", "region": "us-east-1", "role_arn": "arn:aws:iam::444444444444:role/spendwatch-member"}
    with pytest.raises(AwsError) as caught:
        load_handler("idle_scan")(fanout("idle-scan", target=target), Context())
    assert caught.value.operation == "AssumeRole"
    assert _keys(org, "REPORT#") == []  # nothing written


@pytest.mark.parametrize(
    ("target", "field"),
    [
        ({"account_id": "1234", "region": "us-east-1"}, "event.target.account_id"),
        ({"account_id": MEMBER, "region": "mars-1"}, "event.target.region"),
        ({"account_id": MEMBER, "region": "us-east-1", "role_arn": "arn:aws:iam::999999999999:role/x"}, "event.target"),
    ],
)
def test_a_bad_target_names_the_field_before_anything_is_read(org: EmulatedAws, target: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as caught:
        load_handler("cost_meter")(fanout("cost-meter", target=target), Context())
    assert caught.value.field == field
    assert org.calls["AssumeRole"] == 0
