from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spendwatch.aws.session import AwsContext
from spendwatch.services.scan import ScanSettings, run_scan
from spendwatch_emulator import open_fleet
from spendwatch_emulator.fleet import parse_fleet

REPO = Path(__file__).resolve().parent.parent
TINY_FLEET = REPO / "fleets" / "tiny-fleet.json"


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach a real account, whatever the machine's configuration."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")


def emulated(doc: dict[str, Any]) -> Any:
    """``with emulated(fleet(...)) as aws:`` an AwsContext over the emulated AWS."""
    return open_fleet(parse_fleet(doc))


def scan_json(doc: dict[str, Any], lookback_hours: int = 24, **settings: Any) -> dict[str, Any]:
    with emulated(doc) as aws:
        return run_scan(aws, ScanSettings(lookback_hours=lookback_hours, **settings)).to_json()


def endpoints_by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["endpoint_name"]: e for e in report["endpoints"]}


def components_by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["inference_component_name"]: c for c in report["inference_components"]}


@pytest.fixture
def tiny_fleet() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(TINY_FLEET.read_text())
    return loaded


@pytest.fixture
def tiny_aws(tiny_fleet: dict[str, Any]) -> Iterator[AwsContext]:
    with emulated(tiny_fleet) as aws:
        yield aws


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """What Lambda and template.yaml put in a function's environment."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "spendwatch-test-function")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("SPENDWATCH_TABLE_NAME", "spendwatch-test")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "spendwatch")
