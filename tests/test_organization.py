"""An organization from one deployment: an emulated organization of 3 accounts and 2
regions (a fleet of ``estates``) is scanned, metered and charged back exactly as each of its
account regions is on its own, and an account whose role cannot be assumed is reported by
name while the others' results stay complete."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from spendwatch.cli import cli
from tests.fleets import NOW, component, endpoint, seg
from tests.test_cli import run

ACCOUNTS = ("111111111111", "222222222222", "333333333333")
REGIONS = ("us-east-1", "eu-west-1")
START, END = "2026-11-20T02:00:00Z", "2026-11-20T05:00:00Z"


def _estate_endpoints(a: int, r: int) -> list[dict[str, Any]]:
    """Different in every estate (counts, traffic, tags), with shared names across them."""
    shared = endpoint(
        "genai-shared",
        instance_type="ml.g6.12xlarge",
        components=[
            component(
                "ic-chat", copies=1 + (a + r) % 2, traffic=[seg("2026-11-19T12:00:00Z", NOW, 120)], tags={"team": "search"}
            ),
            component("ic-batch", copies=1, tags={"team": f"team-{a}"}),
        ],
        metrics={"enhanced": True, "publish_frequency_s": 60},
        tags={"team": "platform"},
    )
    classic = endpoint(f"churn-{r}", count=1 + a, tags={"team": "growth"})
    return [shared, classic]


def _estates() -> list[dict[str, Any]]:
    return [
        {"account_id": account, "region": region, "endpoints": _estate_endpoints(a, r)}
        for a, account in enumerate(ACCOUNTS)
        for r, region in enumerate(REGIONS)
    ]


def _write(tmp: Path, name: str, doc: dict[str, Any]) -> Path:
    path = tmp / name
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("org")
    # eu-west-1 has no built-in price: the fleet names them (an unpriced region is a finding, never a zero)
    prices = {"ml.m5.large": "0.128", "ml.g6.12xlarge": "6.120"}
    base = {"spec_version": 1, "now": NOW, "history_hours": 4, "prices_usd_per_hour": prices}
    made = {"org": _write(tmp, "org.json", {**base, "estates": _estates()})}
    for estate in _estates():
        alone = {**base, "account_id": estate["account_id"], "region": estate["region"], "endpoints": estate["endpoints"]}
        made[f"{estate['account_id']}:{estate['region']}"] = _write(tmp, f"{estate['account_id']}-{estate['region']}.json", alone)
    accounts = {
        "accounts": [{"account_id": a, "role": "spendwatch-member", "regions": list(REGIONS)} for a in ACCOUNTS]
        + [{"account_id": "444444444444", "role": "spendwatch-member", "regions": ["us-east-1"], "name": "left-the-org"}]
    }
    made["accounts"] = _write(tmp, "accounts.json", accounts)
    return made


def _json(*args: str, code: int = 0) -> dict[str, Any]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def _rows(document: dict[str, Any], key: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in document[key]:
        rows.setdefault((row["account_id"], row["region"]), []).append(row)
    return rows


def test_scan_of_an_organization_matches_each_account_region_scanned_alone(files: dict[str, Path]) -> None:
    org = _json("scan", "--fleet", str(files["org"]), "--format", "json")
    assert org["failures"] == []
    for kind in ("endpoints", "inference_components"):
        together = _rows(org, kind)
        assert set(together) == {(a, r) for a in ACCOUNTS for r in REGIONS}
        for account in ACCOUNTS:
            for region in REGIONS:
                alone = _json("scan", "--fleet", str(files[f"{account}:{region}"]), "--format", "json")
                assert together[(account, region)] == alone[kind]
    assert org["api_calls"]["AssumeRole"] == len(ACCOUNTS) * len(REGIONS)


def test_meter_and_chargeback_by_account_of_an_organization_match_each_account_alone(files: dict[str, Path]) -> None:
    org = _json("meter", "--fleet", str(files["org"]), "--start", START, "--end", END, "--format", "json")
    together = _rows(org, "records")
    per_account: dict[str, Decimal] = dict.fromkeys(ACCOUNTS, Decimal(0))
    for account in ACCOUNTS:
        for region in REGIONS:
            path = str(files[f"{account}:{region}"])
            alone = _json("meter", "--fleet", path, "--start", START, "--end", END, "--format", "json")
            assert together[(account, region)] == alone["records"]
            month = _json("chargeback", "--fleet", path, "--month", "2026-11", "--format", "json")
            per_account[account] += Decimal(month["total_cost_usd"])
    by_account = _json("chargeback", "--fleet", str(files["org"]), "--month", "2026-11", "--by", "account", "--format", "json")
    assert {g["key"]: Decimal(g["cost_usd"]) for g in by_account["groups"]} == per_account
    assert Decimal(by_account["total_cost_usd"]) == sum(per_account.values())
    by_region = _json("chargeback", "--fleet", str(files["org"]), "--month", "2026-11", "--by", "region", "--format", "json")
    assert Decimal(by_region["total_cost_usd"]) == sum(per_account.values())


def test_an_account_whose_role_cannot_be_assumed_is_named_and_the_others_are_complete(files: dict[str, Path]) -> None:
    args = ("scan", "--fleet", str(files["org"]), "--accounts", str(files["accounts"]), "--format", "json")
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 1
    assert "account 444444444444 region us-east-1 failed" in result.stderr
    assert "AssumeRole" in result.stderr
    partial = json.loads(result.stdout)
    assert [f["account_id"] for f in partial["failures"]] == ["444444444444"]
    complete = _json("scan", "--fleet", str(files["org"]), "--format", "json")
    assert partial["endpoints"] == complete["endpoints"]
    assert partial["inference_components"] == complete["inference_components"]


def test_a_bad_accounts_file_names_the_field_before_anything_runs(tmp_path: Path, files: dict[str, Path]) -> None:
    bad = _write(tmp_path, "bad.json", {"accounts": [{"account_id": "12345", "regions": ["us-east-1"]}]})
    result = run("scan", "--fleet", str(files["org"]), "--accounts", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: --accounts: accounts[0].account_id: expected a 12-digit account id as a string, got '12345'"
    )
    both = run("scan", "--fleet", str(files["org"]), "--accounts", str(bad), "--organization")
    assert both.returncode == 2
    assert "--accounts" in both.stderr


def test_a_budget_may_hold_one_account_to_it() -> None:
    from spendwatch.core.budgets import for_account, load_config
    from spendwatch.core.errors import InputError

    document = {
        "budgets": [
            {"team": "search", "monthly_usd": "100", "account_id": ACCOUNTS[0]},
            {"team": "search", "monthly_usd": "500"},
        ]
    }
    config = load_config(json.dumps(document), "budgets.json")
    assert [b.monthly_usd for b in for_account(config, ACCOUNTS[0]).budgets] == [Decimal(100), Decimal(500)]
    assert [b.monthly_usd for b in for_account(config, ACCOUNTS[1]).budgets] == [Decimal(500)]
    document["budgets"][0]["account_id"] = 111
    with pytest.raises(InputError) as caught:
        load_config(json.dumps(document), "budgets.json")
    assert caught.value.field == "budgets.json: budgets[0].account_id"
