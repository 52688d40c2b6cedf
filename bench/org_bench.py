"""Benchmark of spendwatch at organization scale (`make bench`). Not a test: numbers are
printed, never asserted; the last line is one JSON document of every figure.

1. The core's CPU per metered interval (and per classification), pure code on a synthetic
   inventory of N endpoints and 1.5 N components: it must grow linearly with N.
2. On the emulated AWS, at a simulated 40 ms per API call and with the concurrency the code
   uses against a real account (8 workers): a first scan, and a steady hourly meter run
   (the run after one that stored the inventory), for 1,000 and 10,000 endpoints with 1.5
   components each: AWS calls per resource by operation, and wall time.
3. The meter's peak memory for a 6-hour and a 24-hour backfill of 1,000 endpoints, as the
   Lambda runs it (records streamed, not kept): the whole process's peak RSS, the emulated
   AWS included (an upper bound of what the Lambda needs); it must not grow with the hours.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from spendwatch.aws.ledger import Ledger
from spendwatch.aws.session import AwsContext
from spendwatch.core.idle import classify
from spendwatch.core.inventory import Endpoint, EndpointKind, InferenceComponent, Inventory, MetricsConfig, Variant
from spendwatch.core.metering import Interval, meter
from spendwatch.core.pricing import PriceBook
from spendwatch.services.gc import long_lived
from spendwatch.services.meter import run_meter
from spendwatch.services.prices import PriceSettings
from spendwatch.services.scan import ScanSettings, run_scan
from spendwatch_emulator import LEDGER_TABLE, open_fleet
from spendwatch_emulator.fleet import parse_fleet

NOW = datetime(2026, 11, 20, 6, tzinfo=UTC)
LATENCY_S = 0.04
WORKERS = 8  # what open_aws gives a real account


# -- 1. the core, pure -----------------------------------------------------------------------


def synthetic_inventory(endpoints: int) -> Inventory:
    """Half the endpoints host 3 components each (1.5 per endpoint), half are classic."""
    created = NOW - timedelta(days=30)
    eps: list[Endpoint] = []
    ics: list[InferenceComponent] = []
    for i in range(endpoints):
        shared = i % 2 == 0
        name = f"ep-{i:06d}"
        eps.append(
            Endpoint(
                name=name,
                arn=f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}",
                status="InService",
                created_at=created,
                kind=EndpointKind.REAL_TIME,
                config_name=f"{name}-config",
                metrics=MetricsConfig(),
                variants=(
                    Variant(
                        "AllTraffic",
                        "ml.g6.12xlarge" if shared else "ml.m5.large",
                        1,
                        shared,
                        model_name=None if shared else name,
                    ),
                ),
                tags={"team": f"team-{i % 20}"},
            )
        )
        if shared:
            for j in range(3):
                ics.append(
                    InferenceComponent(
                        name=f"ic-{i:06d}-{j}",
                        arn=f"arn:aws:sagemaker:us-east-1:123456789012:inference-component/ic-{i:06d}-{j}",
                        endpoint_name=name,
                        variant_name="AllTraffic",
                        created_at=created,
                        status="InService",
                        model_name=f"model-{j}",
                        accelerators_per_copy=1,
                        cpu_cores_per_copy=4,
                        memory_mb_per_copy=1024,
                        copies=1,
                    )
                )
    return Inventory("us-east-1", tuple(eps), tuple(ics))


def _best_cpu(work: Any, repeat: int = 5) -> tuple[float, Any]:
    """The least CPU time of ``repeat`` runs (the others measure the machine's noise), run
    as the meter service runs it: with what it loaded kept out of the collector's way."""
    best = float("inf")
    for _ in range(repeat):
        with long_lived():
            started = time.process_time()
            work()  # its result is let go before the next run
            best = min(best, time.process_time() - started)
    return best, work()


def core_cpu(endpoints: int) -> dict[str, Any]:
    inventory = synthetic_inventory(endpoints)
    book = PriceBook.builtin("us-east-1")
    interval = Interval(NOW - timedelta(hours=1), NOW)
    metered, result = _best_cpu(lambda: meter(inventory, {}, book, interval))
    classified, _ = _best_cpu(lambda: classify(inventory, {}, book, NOW, 24))
    return {
        "endpoints": endpoints,
        "components": len(inventory.components),
        "records": len(result.records),
        "meter_cpu_s_per_interval": round(metered, 3),
        "classify_cpu_s": round(classified, 3),
    }


# -- 2. and 3. on the emulated AWS -------------------------------------------------------------


def fleet(endpoints: int, history_hours: int) -> dict[str, Any]:
    """1.5 components per endpoint: half the endpoints host 3 (enhanced metrics), half are
    classic; every endpoint tagged, one component in three tagged on its own."""
    specs: list[dict[str, Any]] = []
    quiet = (NOW - timedelta(hours=history_hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for i in range(endpoints):
        name = f"ep-{i:06d}"
        spec: dict[str, Any] = {"name": name, "created_at": "2026-10-01T00:00:00Z", "tags": {"team": f"team-{i % 20}"}}
        if i % 2 == 0:
            spec["metrics"] = {"enhanced": True, "publish_frequency_s": 60}
            spec["variants"] = [
                {
                    "name": "AllTraffic",
                    "instance_type": "ml.g6.12xlarge",
                    "instance_count": 1,
                    "inference_components": [
                        {
                            "name": f"ic-{i:06d}-{j}",
                            "accelerators_per_copy": 1,
                            "cpu_cores_per_copy": 4,
                            "copies": 1,
                            **({"tags": {"team": "search"}} if j == 0 else {}),
                            **({"traffic": [{"from": quiet, "to": "2026-11-20T06:00:00Z", "per_hour": 60}]} if j == 1 else {}),
                        }
                        for j in range(3)
                    ],
                }
            ]
        else:
            spec["variants"] = [{"name": "AllTraffic", "instance_type": "ml.m5.large", "instance_count": 1}]
        specs.append(spec)
    return {"spec_version": 1, "now": "2026-11-20T06:00:00Z", "history_hours": history_hours, "endpoints": specs}


def _per_resource(calls: Counter[str], resources: int) -> dict[str, float]:
    return {op: round(n / resources, 4) for op, n in sorted(calls.items())}


def _emulator(aws: AwsContext) -> Any:
    assert aws.emulator is not None
    assert aws.emulator.set_clock is not None
    return aws.emulator.set_clock.__self__  # type: ignore[attr-defined]


def scan_and_steady_meter(endpoints: int) -> dict[str, Any]:
    started = time.perf_counter()
    with open_fleet(parse_fleet(fleet(endpoints, 4))) as central:
        aws = replace(central, workers=WORKERS)
        emulator = _emulator(aws)
        seeded = time.perf_counter() - started
        resources = endpoints + (endpoints + 1) // 2 * 3

        emulator.latency_s = LATENCY_S
        before = Counter(aws.calls)
        t0 = time.perf_counter()
        run_scan(aws, ScanSettings(lookback_hours=1, history_hours=2))
        scan_wall = time.perf_counter() - t0
        scan_calls = Counter(aws.calls) - before

        ledger = Ledger(aws.client("dynamodb"), LEDGER_TABLE, aws.retry)
        first, second = NOW - timedelta(hours=1), NOW
        emulator.latency_s = 0.0  # the run that stores the inventory: not measured
        emulator.set_clock(first)
        run_meter(replace(aws, now=first), ledger, first - timedelta(hours=1), first, 60, PriceSettings(), keep_records=False)
        emulator.set_clock(second)
        emulator.latency_s = LATENCY_S
        before = Counter(aws.calls)
        t0 = time.perf_counter()
        steady = run_meter(replace(aws, now=second), ledger, first, second, 60, PriceSettings(), keep_records=False)
        meter_wall = time.perf_counter() - t0
        meter_calls = Counter(aws.calls) - before
    return {
        "endpoints": endpoints,
        "resources": resources,
        "seed_s": round(seeded, 1),
        "first_scan": {
            "calls": sum(scan_calls.values()),
            "calls_per_resource": round(sum(scan_calls.values()) / resources, 3),
            "by_operation_per_resource": _per_resource(scan_calls, resources),
            "wall_s_at_40ms": round(scan_wall, 1),
        },
        "steady_meter": {
            "records": steady.record_count,
            "calls": sum(meter_calls.values()),
            "calls_per_resource": round(sum(meter_calls.values()) / resources, 3),
            "by_operation_per_resource": _per_resource(meter_calls, resources),
            "wall_s_at_40ms": round(meter_wall, 1),
        },
    }


def backfill_memory(endpoints: int, hours: int) -> dict[str, Any]:
    """In a process of its own: the process's peak resident memory (the emulated AWS and
    moto included: the meter alone needs less) for a backfill of ``hours``, run as the
    Lambda runs it (records written, counted and let go)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        result: dict[str, Any] = pool.apply(_backfill, (endpoints, hours))
    return result


def _backfill(endpoints: int, hours: int) -> dict[str, Any]:
    from moto.dynamodb.models import dynamodb_backends

    with open_fleet(parse_fleet(fleet(endpoints, hours + 2))) as central:
        aws = replace(central, workers=WORKERS)
        assert aws.emulator is not None
        ledger = Ledger(aws.client("dynamodb"), LEDGER_TABLE, aws.retry)
        table = dynamodb_backends[aws.emulator.account_id][aws.region].tables[LEDGER_TABLE]

        def written(*_: Any) -> None:
            # In AWS the ledger's items live in DynamoDB, not in the Lambda: the emulated table
            # lets them go once an interval is written, so the process's memory is the meter's.
            table.items.clear()

        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        run = run_meter(
            aws, ledger, NOW - timedelta(hours=hours), NOW, 60, PriceSettings(), on_interval=written, keep_records=False
        )
        wall = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "endpoints": endpoints,
        "hours": hours,
        "records": run.record_count,
        "cost_usd": str(run.cost_usd.quantize(Decimal("0.01"))),
        "process_peak_rss_mb": round(peak / 1024, 1),
        "rss_before_meter_mb": round(before / 1024, 1),
        "wall_s": round(wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="endpoints for the scan and steady meter runs")
    parser.add_argument("--core", default="5000,20000", help="endpoints for the core's CPU (1.5 components each)")
    parser.add_argument("--backfill", type=int, default=1000, help="endpoints of the 24-hour backfill")
    args = parser.parse_args()

    figures: dict[str, Any] = {"core": [core_cpu(int(n)) for n in args.core.split(",")]}
    small, large = figures["core"][0], figures["core"][-1]
    figures["core_growth"] = {
        "endpoints_ratio": round(large["endpoints"] / small["endpoints"], 1),
        "meter_cpu_ratio": round(large["meter_cpu_s_per_interval"] / max(small["meter_cpu_s_per_interval"], 1e-9), 2),
        "classify_cpu_ratio": round(large["classify_cpu_s"] / max(small["classify_cpu_s"], 1e-9), 2),
    }
    print(json.dumps({"core": figures["core"], "core_growth": figures["core_growth"]}, indent=2), flush=True)
    figures["backfill"] = [backfill_memory(args.backfill, hours) for hours in (6, 24)]
    print(json.dumps({"backfill": figures["backfill"]}, indent=2), flush=True)
    figures["estates"] = []
    for size in (int(n) for n in args.sizes.split(",")):
        result = scan_and_steady_meter(size)
        figures["estates"].append(result)
        print(json.dumps(result, indent=2), flush=True)
    print(json.dumps(figures, separators=(",", ":")))


if __name__ == "__main__":
    main()
