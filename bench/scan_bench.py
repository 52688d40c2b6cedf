"""Benchmark of the idle scan at scale on the emulated AWS (`make bench`).

Measures wall time of seeding and of the scan, and what a real account would be billed
for: API calls by operation and CloudWatch queries per GetMetricData call.
Not a test: numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

from spendwatch.services.scan import ScanSettings, run_scan
from spendwatch_emulator import open_fleet
from spendwatch_emulator.fleet import parse_fleet


def build_fleet(classic: int, shared: int, components_per_endpoint: int) -> dict:
    endpoints = []
    for i in range(classic):
        variant = {"name": "AllTraffic", "instance_type": "ml.m5.large", "instance_count": 1}
        if i % 3 == 0:
            variant["traffic"] = [{"from": "2026-11-18T06:00:00Z", "to": "2026-11-20T06:00:00Z", "per_hour": 600}]
        elif i % 3 == 1:
            variant["traffic"] = [{"from": "2026-11-18T08:00:00Z", "to": f"2026-11-19T0{i % 6}:17:00Z", "per_hour": 60}]
        endpoints.append({"name": f"classic-{i:05d}", "created_at": "2026-10-01T00:00:00Z",
                          "tags": {"team": f"team-{i % 20}"}, "variants": [variant]})
    for i in range(shared):
        components = [
            {"name": f"ic-{i:05d}-{j}", "accelerators_per_copy": 1, "cpu_cores_per_copy": 4, "copies": 1,
             "traffic": [{"from": "2026-11-19T12:00:00Z", "to": "2026-11-20T06:00:00Z", "per_hour": 120}] if j == 0 else []}
            for j in range(components_per_endpoint)
        ]
        endpoints.append({"name": f"shared-{i:05d}", "created_at": "2026-10-01T00:00:00Z",
                          "metrics": {"enhanced": True, "publish_frequency_s": 60},
                          "variants": [{"name": "AllTraffic", "instance_type": "ml.g6.12xlarge", "instance_count": 1,
                                        "inference_components": components}]})
    return {"spec_version": 1, "now": "2026-11-20T06:00:00Z", "history_hours": 48, "endpoints": endpoints}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--classic", type=int, default=1500)
    parser.add_argument("--shared", type=int, default=500)
    parser.add_argument("--components", type=int, default=3)
    args = parser.parse_args()

    doc = build_fleet(args.classic, args.shared, args.components)
    started = time.perf_counter()
    fleet = parse_fleet(doc)
    with open_fleet(fleet) as aws:
        seeded = time.perf_counter()
        report = run_scan(aws, ScanSettings())
        scanned = time.perf_counter()
        calls: Counter[str] = aws.emulator.calls if aws.emulator else Counter()
    series = len(report.endpoints) + len(report.components)
    result = {
        "endpoints": len(report.endpoints),
        "inference_components": len(report.components),
        "idle_endpoints": len(report.idle_endpoints),
        "idle_components": len(report.idle_components),
        "seed_seconds": round(seeded - started, 2),
        "scan_seconds": round(scanned - seeded, 2),
        "api_calls": dict(sorted(calls.items())),
        "get_metric_data_calls": calls["GetMetricData"],
        "usage_series_at_least": series,
        "queries_per_get_metric_data_call": round(series / max(1, calls["GetMetricData"]), 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
