"""Metering: GPU-seconds into money, exactly, to the second, never double-counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spendwatch.aws.ledger import Ledger
from spendwatch.core.inventory import Endpoint, EndpointKind, InferenceComponent, Inventory, MetricsConfig, Variant
from spendwatch.core.metering import Basis, Interval, RecordKind, VariantSamples, meter
from spendwatch.core.pricing import PriceBook
from spendwatch.services.meter import run_meter
from spendwatch.services.prices import PriceSettings
from spendwatch_emulator.emulator import LEDGER_TABLE
from tests.conftest import emulated
from tests.fleets import component, endpoint, fleet, gpu_endpoint

NOW = datetime(2026, 11, 20, 6, tzinfo=UTC)
HOUR = Interval(NOW - timedelta(hours=1), NOW)


def meter_fleet(doc: dict[str, Any], start: datetime, end: datetime, minutes: int = 60) -> Any:
    with emulated(doc) as aws:
        ledger = Ledger(aws.client("dynamodb"), LEDGER_TABLE, aws.retry)
        return run_meter(aws, ledger, start, end, minutes, PriceSettings())


def by_resource(records: list[Any]) -> dict[str, Any]:
    return {r.inference_component_name or f"{r.endpoint_name}/{r.kind.value}": r for r in records}


def test_the_launch_posts_worked_figure() -> None:
    """ml.g6.12xlarge at 5.752 USD/h has 4 GPUs: 4 GPUs for 10 s cost 0.015978 USD."""
    created = NOW - timedelta(hours=1)  # both existed for the whole ten seconds
    c = InferenceComponent("ic", "arn:ic", "ep", "AllTraffic", created, "InService", "m", 4, 8, 1024, 1)
    e = Endpoint(
        "ep",
        "arn:ep",
        "InService",
        created,
        EndpointKind.REAL_TIME,
        "cfg",
        MetricsConfig(True, 10),
        (Variant("AllTraffic", "ml.g6.12xlarge", 1, True),),
    )
    ten_seconds = Interval(NOW - timedelta(seconds=10), NOW)
    samples = {("ep", "AllTraffic", ten_seconds.start): VariantSamples(instance_samples=1, gpu_samples={"ic": 4})}
    result = meter(Inventory("us-east-1", (e,), (c,)), samples, PriceBook.builtin("us-east-1"), ten_seconds)
    records = by_resource(result.records)
    assert records["ic"].gpu_seconds == 40
    assert records["ic"].cost_usd == Decimal("0.015978")
    assert records["ep/unallocated"].cost_usd == 0


def test_tiny_fleet_hour_05_to_06(tiny_fleet: dict[str, Any]) -> None:
    run = meter_fleet(tiny_fleet, NOW - timedelta(hours=1), NOW)
    records = by_resource(run.records)
    assert (records["ic-chat"].cost_usd, records["ic-chat"].gpu_seconds, records["ic-chat"].basis) == (
        Decimal("2.876000"),
        7200,
        Basis.METRICS,
    )
    assert records["ic-summarize"].cost_usd == Decimal("1.438000")
    assert records["genai-shared/unallocated"].cost_usd == Decimal("1.438000")
    assert records["genai-shared/unallocated"].gpu_seconds == 3600
    genai = [r for r in run.records if r.endpoint_name == "genai-shared"]
    assert sum(r.cost_usd for r in genai) == Decimal("5.752")
    assert records["churn-model/endpoint"].cost_usd == Decimal("0.115000")


def test_copies_changing_inside_an_interval_are_charged_to_the_second() -> None:
    doc = fleet(
        gpu_endpoint(
            "shared",
            [
                component(
                    "ic",
                    accelerators=1,
                    copies=[{"from": "2026-10-01T00:00:00Z", "count": 1}, {"from": "2026-11-20T05:30:20Z", "count": 2}],
                )
            ],
            metrics={"enhanced": True, "publish_frequency_s": 10},
        )
    )
    records = by_resource(meter_fleet(doc, HOUR.start, HOUR.end).records)
    assert records["ic"].gpu_seconds == 1820 + 2 * 1780
    assert records["ic"].cost_usd == (Decimal(5380) * Decimal("5.752") / 4 / 3600).quantize(Decimal("0.000001"))


def test_instances_changing_inside_an_interval_are_charged_to_the_second() -> None:
    doc = fleet(
        endpoint(
            "classic",
            instance_type="ml.m5.large",
            metrics={"enhanced": True, "publish_frequency_s": 30},
            count=[{"from": "2026-10-01T00:00:00Z", "count": 1}, {"from": "2026-11-20T05:15:30Z", "count": 3}],
        )
    )
    (record,) = meter_fleet(doc, HOUR.start, HOUR.end).records
    assert (record.kind, record.instance_seconds, record.basis) == (RecordKind.ENDPOINT, 930 + 3 * 2670, Basis.METRICS)
    assert record.cost_usd == (Decimal(930 + 3 * 2670) * Decimal("0.115") / 3600).quantize(Decimal("0.000001"))


def test_without_enhanced_metrics_allocation_is_the_basis() -> None:
    doc = fleet(gpu_endpoint("shared", [component("ic", accelerators=2, copies=1)]))
    records = by_resource(meter_fleet(doc, HOUR.start, HOUR.end).records)
    assert (records["ic"].basis, records["ic"].gpu_seconds, records["ic"].cost_usd) == (
        Basis.ALLOCATION,
        7200,
        Decimal("2.876000"),
    )
    assert records["shared/unallocated"].cost_usd == Decimal("2.876000")


def test_cpu_only_components_are_charged_by_reserved_cores() -> None:
    # ml.m5.xlarge: 0.23 USD/h and 4 vCPUs; one copy of 1 core for an hour = 0.0575
    doc = fleet(endpoint("cpu", instance_type="ml.m5.xlarge", components=[component("ic-cpu", accelerators=0, cores=1)]))
    records = by_resource(meter_fleet(doc, HOUR.start, HOUR.end).records)
    assert (records["ic-cpu"].core_seconds, records["ic-cpu"].cost_usd) == (3600, Decimal("0.057500"))
    assert records["cpu/unallocated"].cost_usd == Decimal("0.172500")
    assert records["cpu/unallocated"].core_seconds == 3 * 3600


def test_unpriced_instance_type_is_a_finding_and_writes_no_record() -> None:
    doc = fleet(endpoint("mystery", instance_type="ml.g7.2xlarge"), gpu_endpoint("shared", [component("ic")]))
    run = meter_fleet(doc, HOUR.start, HOUR.end)
    assert {r.endpoint_name for r in run.records} == {"shared"}
    assert [(f.endpoint_name, f.kind) for f in run.findings] == [("mystery", "unpriced")]
    assert all(r.cost_usd > 0 for r in run.records)


def test_serverless_endpoints_are_reported_unmetered_never_charged_zero() -> None:
    doc = fleet(
        {
            "name": "sls",
            "created_at": "2026-10-01T00:00:00Z",
            "kind": "serverless",
            "variants": [{"name": "AllTraffic", "serverless": {"memory_mb": 2048, "max_concurrency": 5}}],
        }
    )
    run = meter_fleet(doc, HOUR.start, HOUR.end)
    assert run.records == []
    assert [(f.endpoint_name, f.kind) for f in run.findings] == [("sls", "serverless-unmetered")]


def test_components_take_their_tags_falling_back_to_the_endpoints_key_by_key() -> None:
    doc = fleet(
        gpu_endpoint(
            "shared", [component("ic", tags={"cost-center": "cc-9"})], tags={"team": "t1", "cost-center": "cc-1", "project": "p"}
        )
    )
    records = by_resource(meter_fleet(doc, HOUR.start, HOUR.end).records)
    assert records["ic"].tags == {"team": "t1", "cost-center": "cc-9", "project": "p"}
    assert records["shared/unallocated"].tags == {"team": "t1", "cost-center": "cc-1", "project": "p"}


# -- conservation, over generated fleets ---------------------------------------------------

TYPES = {"ml.g6.12xlarge": (4, Decimal("5.752")), "ml.g5.12xlarge": (4, Decimal("7.09")), "ml.g5.xlarge": (1, Decimal("1.408"))}


@st.composite
def fleets(draw: st.DrawFn) -> dict[str, Any]:
    endpoints = []
    for e in range(draw(st.integers(1, 3))):
        instance_type = draw(st.sampled_from(sorted(TYPES)))
        gpus = TYPES[instance_type][0]
        steps = sorted(draw(st.sets(st.integers(1, 6 * 60 - 1), max_size=3)))
        counts = [1] + [draw(st.integers(1, 3)) for _ in steps]
        timeline = [{"from": "2026-10-01T00:00:00Z", "count": counts[0]}] + [
            {"from": f"{NOW - timedelta(minutes=m):%Y-%m-%dT%H:%M:%SZ}", "count": c}
            for m, c in zip(reversed(steps), counts[1:], strict=True)
        ]
        capacity = gpus  # copies fit on the smallest instance count (1)
        components = []
        for c in range(draw(st.integers(0, 3))):
            accelerators = draw(st.integers(1, 2))
            if accelerators > capacity:
                break
            capacity -= accelerators
            components.append(component(f"ic-{e}-{c}", accelerators=accelerators, cores=1))
        enhanced = draw(st.booleans())
        frequency = draw(st.sampled_from([10, 30, 60]))
        endpoints.append(
            gpu_endpoint(
                f"ep-{e}",
                components,
                instance_type=instance_type,
                count=timeline,
                metrics={"enhanced": enhanced, "publish_frequency_s": frequency},
            )
        )
    return fleet(*endpoints, history_hours=8, prices_usd_per_hour={t: str(p) for t, (_, p) in TYPES.items()})


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleets())
def test_components_plus_unallocated_equal_the_instances_cost_exactly(doc: dict[str, Any]) -> None:
    start = NOW - timedelta(hours=6)
    run = meter_fleet(doc, start, NOW)
    for spec in doc["endpoints"]:
        variant = spec["variants"][0]
        _, price = TYPES[variant["instance_type"]]
        timeline = [(datetime.fromisoformat(s["from"].replace("Z", "+00:00")), s["count"]) for s in variant["instance_count"]]
        for hour in range(6):
            interval = Interval(start + timedelta(hours=hour), start + timedelta(hours=hour + 1))
            if spec["metrics"]["enhanced"]:
                seconds = sum(
                    count * max(0, (min(interval.end, until) - max(interval.start, since)).total_seconds())
                    for (since, count), until in zip(timeline, [t for t, _ in timeline[1:]] + [NOW], strict=True)
                )
            else:
                seconds = timeline[-1][1] * 3600  # allocation: the current count
            expected = (Decimal(int(seconds)) * price / 3600).quantize(Decimal("0.000001"))
            charged = [r for r in run.records if r.endpoint_name == spec["name"] and r.interval_start == interval.start]
            assert sum(r.cost_usd for r in charged) == expected
            assert all(r.cost_usd >= 0 for r in charged)
            assert sum(1 for r in charged if r.kind is RecordKind.UNALLOCATED) == 1
