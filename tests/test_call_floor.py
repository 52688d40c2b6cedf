"""At the API-call floor, with nothing lost: tags come from the Tagging API where it answers
(and from ListTags where it does not, with the same result); the hourly meter describes
again only what LastModifiedTime says changed."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from spendwatch.aws.ledger import Ledger
from spendwatch.core.timestamps import parse_utc
from spendwatch.services.meter import run_meter
from spendwatch.services.prices import PriceSettings
from spendwatch.services.scan import ScanSettings, run_scan
from spendwatch_emulator import LEDGER_TABLE, open_fleet
from spendwatch_emulator.fleet import parse_fleet
from tests.fleets import NOW, component, endpoint, fleet

FLEET = fleet(
    endpoint("churn", tags={"team": "growth"}),
    endpoint("quiet"),  # untagged
    endpoint(
        "shared",
        instance_type="ml.g6.12xlarge",
        components=[
            component("ic-a", tags={"team": "search"}),
            component("ic-b"),  # its endpoint's tags
            component(
                "ic-c", copies=[{"from": "2026-10-01T00:00:00Z", "count": 1}, {"from": "2026-11-20T04:30:00Z", "count": 2}]
            ),
        ],
        tags={"team": "platform", "project": "llm"},
    ),
    history_hours=6,
)


def _scan(**options: Any) -> tuple[dict[str, Any], Counter[str]]:
    with open_fleet(parse_fleet(FLEET), **options) as aws:
        report = run_scan(aws, ScanSettings(lookback_hours=2, history_hours=4)).to_json("123456789012")
        return report, Counter(aws.calls)


def test_tags_come_from_the_tagging_api_and_list_tags_only_where_it_does_not_answer() -> None:
    covered, calls = _scan()
    assert calls["ListTags"] == 0
    assert calls["GetResources"] == 1
    fallback, fallback_calls = _scan(tagging_covers_components=False)
    assert fallback_calls["ListTags"] == 3  # the three components, one call each
    assert covered == fallback
    rows = {c["inference_component_name"]: c for c in covered["inference_components"]}
    assert rows["ic-a"]["tags"]["team"] == "search"


@pytest.mark.parametrize("second_at", ["2026-11-20T04:00:00Z", "2026-11-20T05:00:00Z"], ids=["unchanged", "copies-changed"])
def test_the_hourly_meter_describes_again_only_what_changed(second_at: str) -> None:
    first_at = parse_utc("2026-11-20T03:00:00Z", "t")
    second = parse_utc(second_at, "t")
    with open_fleet(parse_fleet(FLEET)) as aws:
        assert aws.emulator is not None
        assert aws.emulator.set_clock is not None
        ledger = Ledger(aws.client("dynamodb"), LEDGER_TABLE, aws.retry)
        aws.emulator.set_clock(first_at)
        run_meter(replace(aws, now=first_at), ledger, first_at - timedelta(hours=1), first_at, 60, PriceSettings())
        aws.emulator.set_clock(second)
        before = Counter(aws.calls)
        run = run_meter(replace(aws, now=second), ledger, second - timedelta(hours=1), second, 60, PriceSettings())
        calls = Counter(aws.calls) - before
        aws.emulator.set_clock(parse_utc(NOW, "now"))
    changed = second_at == "2026-11-20T05:00:00Z"  # ic-c went from 1 copy to 2 at 04:30
    assert calls["DescribeEndpoint"] == 0
    assert calls["DescribeEndpointConfig"] == 0
    assert calls["DescribeInferenceComponent"] == (1 if changed else 0)
    assert run.record_count > 0
