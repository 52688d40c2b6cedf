"""Right-sizing advice: the pure rules (core/advice.py), then the whole path against the
emulated AWS (utilization and invocations from CloudWatch, scaling from Application Auto
Scaling), the command line, and the nightly digest's section."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from spendwatch.aws.reports import ReportStore
from spendwatch.cli import cli
from spendwatch.core import metricnames as mn
from spendwatch.core.advice import (
    COMPONENT_INVOCATIONS_METRIC,
    VARIANT_INVOCATIONS_METRIC,
    Bound,
    Load,
    Scaling,
    ScalingPolicy,
    Subject,
    SubjectKind,
    advise,
    busiest,
    digest_lines,
    mean_by_time,
    reduce_load,
    smaller_type,
)
from spendwatch.core.notifications import idle_digests
from spendwatch.services.advise import AdviseSettings, run_advise
from tests.conftest import emulated
from tests.fleets import NOW, component, endpoint, fleet, gpu_endpoint, seg
from tests.lambdas import TABLE, Context, load_handler, run_in, sample_event

START = "2026-11-18T06:00:00Z"  # traffic for the last two days of the fleet's history


def classic(name: str, instance_type: str, count: int, per_hour: float, team: str = "vision", **variant: Any) -> dict[str, Any]:
    """A classic endpoint with steady traffic and the variant fields given."""
    spec = endpoint(name, instance_type=instance_type, count=count, traffic=[seg(START, NOW, per_hour)], tags={"team": team})
    spec["variants"][0].update(variant)
    return spec


# The acceptance fleet: one compute-bound endpoint of each kind (GPU, CPU), a throughput-bound
# one, one that already scales, an over-provisioned one, one without utilization metrics, an
# idle one, and components (compute- and throughput-bound).
FLEET = fleet(
    classic("vision-gpu", "ml.g5.12xlarge", 2, 1_200, gpu_utilization_pct=85, cpu_utilization_pct=30),
    classic("ranker-cpu", "ml.c5.xlarge", 3, 3_000, cpu_utilization_pct=80),
    classic("text-api", "ml.c5.xlarge", 2, 60_000, cpu_utilization_pct=45),
    classic(
        "autoscaled",
        "ml.c5.xlarge",
        2,
        6_000,
        cpu_utilization_pct=40,
        autoscaling={"min": 1, "max": 4, "metric": "SageMakerVariantInvocationsPerInstance", "target": 100},
    ),
    classic("oversized", "ml.m5.xlarge", 4, 600, cpu_utilization_pct=10),
    classic("single-big", "ml.c5.4xlarge", 1, 600, cpu_utilization_pct=15),
    classic("no-metrics", "ml.m5.large", 1, 600),
    endpoint("quiet", tags={"team": "vision"}),
    gpu_endpoint(
        "genai",
        [
            component("ic-chat", traffic=[seg(START, NOW, 3_000)], gpu_utilization_pct=90, copies=2),
            component("ic-embed", traffic=[seg(START, NOW, 3_000)], gpu_utilization_pct=20),
        ],
        metrics={"enhanced": True},
        tags={"team": "genai"},
    ),
)


@pytest.fixture(scope="module")
def advice() -> dict[str, Any]:
    with emulated(FLEET) as aws:
        report = run_advise(aws, AdviseSettings())
        calls = dict(aws.emulator.calls) if aws.emulator else {}
    document = report.to_json("123456789012")
    document["calls"] = calls
    return document


def _rows(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    rows = {r["endpoint_name"]: r for r in document["endpoints"]}
    rows |= {r["inference_component_name"]: r for r in document["inference_components"]}
    return rows


# -- the acceptance: the right metric for each kind of load -------------------------------------


def test_compute_bound_and_throughput_bound_endpoints_get_the_right_metric(advice: dict[str, Any]) -> None:
    rows = _rows(advice)
    gpu, cpu, api = rows["vision-gpu"], rows["ranker-cpu"], rows["text-api"]
    assert (gpu["bound"], gpu["recommendation"]["metric"]) == ("compute", "GPUUtilization")
    assert gpu["recommendation"]["namespace"] == "/aws/sagemaker/Endpoints"
    assert gpu["recommendation"]["target"] == "280"  # 70 % of each of 4 GPUs: the standard metric sums them
    assert (cpu["bound"], cpu["recommendation"]["metric"], cpu["recommendation"]["target"]) == (
        "compute",
        "CPUUtilization",
        "280",  # 70 % of 4 vCPUs
    )
    assert (api["bound"], api["recommendation"]["metric"]) == ("throughput", VARIANT_INVOCATIONS_METRIC)
    assert api["recommendation"]["namespace"] is None  # a predefined metric
    # 1,000 invocations a minute on 2 instances at 45 % CPU: 500 each, scaled to 70 % CPU.
    assert api["peak_cpu_utilization_pct"] == "45.0"
    assert api["recommendation"]["target"] == str((Decimal(500) * 70 / 45).quantize(Decimal("0.01"), "ROUND_FLOOR"))
    assert "throughput-bound" in api["reason"]
    assert "CPU peaks at 45 %" in api["reason"]
    for row in (gpu, cpu, api):
        assert row["scales"] is False
        assert row["current_policy"] is None


def test_components_are_advised_on_their_own_metrics(advice: dict[str, Any]) -> None:
    rows = _rows(advice)
    chat, embed = rows["ic-chat"], rows["ic-embed"]
    assert (chat["bound"], chat["recommendation"]["metric"], chat["recommendation"]["target"]) == (
        "compute",
        mn.GPU_UTILIZATION,
        "70",  # GPUUtilizationNormalized is per GPU already
    )
    assert chat["recommendation"]["namespace"] == mn.ENHANCED_COMPONENTS_NAMESPACE
    assert (embed["bound"], embed["recommendation"]["metric"]) == ("throughput", COMPONENT_INVOCATIONS_METRIC)
    assert (chat["copies"], chat["peak_gpu_utilization_pct"]) == (2, "90.0")


def test_an_endpoint_with_a_policy_scales_and_is_not_shrunk(advice: dict[str, Any]) -> None:
    row = _rows(advice)["autoscaled"]
    assert row["scales"] is True
    assert row["current_policy"] == {
        "metric": VARIANT_INVOCATIONS_METRIC,
        "policy_type": "TargetTrackingScaling",
        "target": "100",
        "min_capacity": 1,
        "max_capacity": 4,
    }
    assert row["fits_instance_count"] is None  # the policy owns the count
    assert (row["recommendation"]["min_capacity"], row["recommendation"]["max_capacity"]) == (1, 4)
    assert "scales on SageMakerVariantInvocationsPerInstance at 100 (1-4 instances)" in row["reason"]


def test_an_over_provisioned_endpoint_gets_a_smaller_count_or_type(advice: dict[str, Any]) -> None:
    rows = _rows(advice)
    oversized = rows["oversized"]  # 4 instances at 10 % CPU: 1 would do, but at most twice the load each
    assert (oversized["bound"], oversized["fits_instance_count"]) == ("throughput", 2)
    assert "the peak fits 2 instances" in oversized["reason"]
    single = rows["single-big"]  # one instance cannot drop: a smaller type of its family
    assert (single["fits_instance_count"], single["fits_instance_type"]) == (None, "ml.c5.2xlarge")
    busy = rows["ranker-cpu"]  # 3 at 80 %: the peak needs them all
    assert busy["fits_instance_count"] is None
    assert busy["recommendation"]["max_capacity"] == 4


def test_idle_and_unmeasured_endpoints_say_so(advice: dict[str, Any]) -> None:
    rows = _rows(advice)
    assert (rows["quiet"]["bound"], rows["quiet"]["recommendation"]) == ("idle", None)
    unknown = rows["no-metrics"]
    assert unknown["bound"] == "unknown (no metrics)"
    assert unknown["recommendation"]["metric"] == VARIANT_INVOCATIONS_METRIC
    assert unknown["recommendation"]["target"] == "7"  # 70 % of the peak 10 a minute


def test_the_json_holds_no_floats_and_names_account_and_region(advice: dict[str, Any]) -> None:
    def walk(value: Any) -> Iterator[Any]:
        if isinstance(value, dict):
            for v in value.values():
                yield from walk(v)
        elif isinstance(value, list):
            for v in value:
                yield from walk(v)
        else:
            yield value

    assert not any(isinstance(v, float) for v in walk({k: v for k, v in advice.items() if k != "calls"}))
    assert advice["advised_at"] == NOW
    assert advice["lookback_hours"] == 168
    for row in [*advice["endpoints"], *advice["inference_components"]]:
        assert (row["account_id"], row["region"]) == ("123456789012", "us-east-1")


def test_advice_costs_a_few_calls_whatever_the_fleet(advice: dict[str, Any]) -> None:
    calls = advice["calls"]
    assert calls["GetMetricData"] == 2  # every series' hourly figures in one batch, then its busiest hour's
    assert calls["ListMetrics"] == 1  # the components' GPU series, region-wide
    assert (calls["DescribeScalableTargets"], calls["DescribeScalingPolicies"]) == (1, 1)


def test_the_peak_is_the_busiest_five_minutes_of_the_busiest_hour() -> None:
    burst = classic("bursty", "ml.c5.xlarge", 2, 600, cpu_utilization_pct=20)
    burst["variants"][0]["traffic"].append(seg("2026-11-19T12:00:00Z", "2026-11-19T12:10:00Z", 12_000))
    with emulated(fleet(burst)) as aws:
        (row,) = run_advise(aws, AdviseSettings(lookback_hours=48)).to_json()["endpoints"]
    assert row["peak_invocations_per_minute"] == "210.00"  # 200 a minute from the burst, 10 from the base
    assert row["invocations"] == 600 * 48 + 2_000


# -- the pure rules -----------------------------------------------------------------------------------


def _variant(instance_type: str = "ml.c5.xlarge", count: int = 2) -> Subject:
    return Subject(SubjectKind.VARIANT, "ep", "AllTraffic", instance_type, count)


def _load(peak: str = "100", cpu: str | None = None, gpu: str | None = None, invocations: int = 1000) -> Load:
    return Load(
        invocations,
        Decimal(peak),
        None if cpu is None else Decimal(cpu),
        None if gpu is None else Decimal(gpu),
    )


@pytest.mark.parametrize(("cpu", "bound"), [("60.0", Bound.COMPUTE), ("59.9", Bound.THROUGHPUT)])
def test_the_compute_bound_threshold_is_60_percent_at_the_peak(cpu: str, bound: Bound) -> None:
    assert advise(_variant(), _load(cpu=cpu), None, 168).bound is bound


def test_the_higher_of_cpu_and_gpu_decides_the_metric() -> None:
    gpu_bound = advise(_variant("ml.g5.xlarge"), _load(cpu="65", gpu="90"), None, 168)
    cpu_bound = advise(_variant("ml.g5.xlarge"), _load(cpu="90", gpu="65"), None, 168)
    assert gpu_bound.recommendation is not None
    assert gpu_bound.recommendation.metric == "GPUUtilization"
    assert cpu_bound.recommendation is not None
    assert cpu_bound.recommendation.metric == "CPUUtilization"
    assert gpu_bound.recommendation.target == 70  # one GPU
    assert cpu_bound.recommendation.target == 280  # 4 vCPUs


def test_a_throughput_target_is_at_most_twice_the_peak_and_the_count_follows() -> None:
    advice = advise(_variant(count=4), _load(peak="400", cpu="5"), None, 168)  # 100 a minute each, at 5 % CPU
    assert advice.recommendation is not None
    assert advice.recommendation.target == 200  # 70/5 = 14x, held to 2x
    assert advice.fits_count == 2  # ceil(400 / 200)
    assert advice.recommendation.max_capacity == 4  # today's count stays reachable


def test_a_scaling_policy_is_read_as_scaling_only_with_room_and_not_suspended() -> None:
    policy = ScalingPolicy("p", "TargetTrackingScaling", VARIANT_INVOCATIONS_METRIC, Decimal(50))
    assert Scaling("r", "d", 1, 4, (policy,)).scales
    assert not Scaling("r", "d", 2, 2, (policy,)).scales  # min = max: nothing moves
    assert not Scaling("r", "d", 1, 4, ()).scales  # a target without a policy
    assert not Scaling("r", "d", 1, 4, (policy,), suspended=True).scales


def test_a_scaling_endpoint_tracking_another_metric_is_told_to_switch() -> None:
    policy = ScalingPolicy("p", "TargetTrackingScaling", VARIANT_INVOCATIONS_METRIC, Decimal(50))
    advice = advise(_variant(), _load(cpu="85"), Scaling("r", "d", 1, 6, (policy,)), 168)
    assert advice.scales
    assert advice.bound is Bound.COMPUTE
    assert advice.recommendation is not None
    assert advice.recommendation.metric == "CPUUtilization"
    assert advice.recommendation.max_capacity == 6
    assert advice.fits_count is None
    assert advice.actionable  # it tracks invocations, its load is compute-bound


def test_the_busiest_hour_is_the_earliest_of_the_highest_and_gpus_are_averaged_first() -> None:
    t0 = datetime(2026, 11, 20, tzinfo=UTC)
    hours = [t0 + timedelta(hours=n) for n in range(3)]
    assert busiest([(hours[0], 1.0), (hours[1], 5.0), (hours[2], 5.0)]) == hours[1]
    assert busiest([]) is None
    gpus = [[(hours[0], 90.0), (hours[1], 10.0)], [(hours[0], 10.0), (hours[1], 80.0)]]
    assert mean_by_time(gpus) == [(hours[0], 50.0), (hours[1], 45.0)]
    assert busiest(mean_by_time(gpus)) == hours[0]


def test_reduce_load_reads_the_standard_metrics_per_unit_and_components_per_gpu() -> None:
    t0 = datetime(2026, 11, 20, tzinfo=UTC)
    points = [(t0, 500.0), (t0 + timedelta(minutes=5), 1500.0)]
    variant = reduce_load(_variant("ml.g5.12xlarge"), points, [(t0, 960.0)], [[(t0, 340.0)]])  # 48 vCPUs, 4 GPUs
    assert (variant.invocations, variant.peak_per_minute) == (2000, Decimal("300.00"))
    assert (variant.cpu_peak_pct, variant.gpu_peak_pct) == (Decimal("20.0"), Decimal("85.0"))
    part = Subject(SubjectKind.COMPONENT, "ep", "AllTraffic", "ml.g5.12xlarge", 1, "ic", 2)
    shared = reduce_load(part, points, [], [[(t0, 90.0)], [(t0, 50.0)], [(t0 + timedelta(minutes=5), 10.0)]])
    assert (shared.cpu_peak_pct, shared.gpu_peak_pct) == (None, Decimal("70.0"))  # the mean of its GPUs at each time


def test_an_unknown_instance_type_has_no_utilization_and_no_smaller_type() -> None:
    assert reduce_load(_variant("ml.x9.huge"), [], [(datetime(2026, 11, 20, tzinfo=UTC), 50.0)]).cpu_peak_pct is None
    assert smaller_type("ml.x9.huge", Decimal(10), None) is None
    assert smaller_type("ml.m5.large", Decimal(10), None) is None  # the smallest of its family
    assert smaller_type("ml.g5.12xlarge", Decimal(10), Decimal(10)) is None  # g5 has no 2-GPU size: 4 is the least
    assert smaller_type("ml.m5.24xlarge", Decimal(20), None) == "ml.m5.12xlarge"  # 96 vCPUs at 20 %: at least half of them


# -- the command line ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fleet_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("advise") / "fleet.json"
    path.write_text(json.dumps(FLEET))
    return path


def test_cli_json_contract(fleet_file: Path) -> None:
    result = CliRunner().invoke(cli, ["advise", "--fleet", str(fleet_file), "--format", "json", "--lookback-hours", "24"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["lookback_hours"] == 24
    assert document["failures"] == []
    row = _rows(document)["vision-gpu"]
    assert set(row) >= {
        "endpoint_name",
        "variant_name",
        "instance_type",
        "instance_count",
        "scales",
        "bound",
        "recommendation",
        "fits_instance_count",
        "reason",
    }
    assert set(row["recommendation"]) >= {"metric", "target", "min_capacity", "max_capacity"}
    assert (row["instance_type"], row["instance_count"], row["recommendation"]["metric"]) == (
        "ml.g5.12xlarge",
        2,
        "GPUUtilization",
    )


def test_cli_table_names_every_resource_and_its_policy(fleet_file: Path) -> None:
    result = CliRunner(env={"COLUMNS": "220"}).invoke(cli, ["advise", "--fleet", str(fleet_file)])
    assert result.exit_code == 0, result.output
    for name in ("vision-gpu/AllTraffic", "text-api/AllTraffic", "ic-chat", "quiet/AllTraffic"):
        assert name in result.stdout
    assert "GPUUtilization at 280 (1-3)" in result.stdout
    assert "nothing is changed" in result.stdout


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--lookback-hours", "0"], "--lookback-hours"),
        (["--lookback-hours", str(63 * 24 + 1)], "--lookback-hours"),
        (["--format", "csv"], "--format"),
        (["--region", "eu-west-1"], "--fleet"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(fleet_file: Path, args: list[str], flag: str) -> None:
    result = CliRunner().invoke(cli, ["advise", "--fleet", str(fleet_file), *args])
    assert result.exit_code == 2
    assert flag in result.output
    assert result.stdout.strip() == "" or "Usage" in result.stdout


def test_the_installed_command_exits_2_on_a_bad_flag_with_nothing_on_stdout(fleet_file: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "spendwatch.cli", "advise", "--fleet", str(fleet_file), "--lookback-hours", "-3"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "--lookback-hours" in done.stderr
    assert done.stdout == ""


# -- the nightly digest ---------------------------------------------------------------------------------


def test_the_nightly_scan_stores_the_advice_and_the_digest_shows_it(lambda_env: None) -> None:
    doc = fleet(
        classic("ranker-cpu", "ml.c5.xlarge", 3, 3_000, team="search", cpu_utilization_pct=80),
        classic(
            "autoscaled",
            "ml.c5.xlarge",
            2,
            6_000,
            team="search",
            cpu_utilization_pct=40,
            autoscaling={"min": 1, "max": 4, "target": 100},
        ),
        endpoint("forgotten", tags={"team": "search"}),  # idle: the team gets a digest
        classic("other-team", "ml.c5.xlarge", 3, 3_000, team="growth", cpu_utilization_pct=80),
    )
    for emulator in run_in(doc):
        summary = load_handler("idle_scan")(sample_event("idle_scan"), Context())
        assert summary["stored"] is True
        stored = ReportStore(emulator.client("dynamodb"), TABLE).latest("us-east-1")
    assert stored is not None
    assert stored["advice"] is not None
    assert {r["endpoint_name"]: r["bound"] for r in stored["advice"]["endpoints"]}["ranker-cpu"] == "compute"
    (digest,) = idle_digests(stored, "us-east-1", stored["scanned_at"])
    assert digest.team == "search"
    section = digest.email.split("Right-sizing advice", 1)[1]
    assert "ranker-cpu/AllTraffic (3 x ml.c5.xlarge): compute-bound, target-track CPUUtilization at 280" in section
    # The autoscaled endpoint already tracks what its load calls for, and another team's is not this team's.
    assert "autoscaled" not in section
    assert "other-team" not in section
    assert "in the email digest (spendwatch advise)" in json.loads(digest.publish_request("arn")["Message"])["default"]


def test_a_report_without_advice_gives_the_digest_it_always_gave() -> None:
    report = {
        "scanned_at": NOW,
        "lookback_hours": 24,
        "history_hours": 48,
        "endpoints": [
            {
                "endpoint_name": "forgotten",
                "status": "idle",
                "hourly_cost_usd": "0.115000",
                "idle_since": None,
                "owner": "search",
                "created_at": "2026-10-01T00:00:00Z",
                "kind": "real-time",
            },
        ],
        "inference_components": [],
    }
    (before,) = idle_digests(report, "us-east-1", NOW)
    (after,) = idle_digests({**report, "advice": None}, "us-east-1", NOW)
    assert before == after
    assert "Right-sizing" not in before.email
    assert digest_lines({"endpoints": [], "inference_components": []}, "search", "untagged") == []
