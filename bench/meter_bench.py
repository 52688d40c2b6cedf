"""Benchmark of the hourly meter at scale on the emulated AWS (`make bench`).

Three hourly runs, as the schedule makes them, over a fleet where some endpoints and
components are deleted between runs. Measures what a real
account would see per run: API calls by operation and per resource, wall time, and the
process's peak memory. Not a test: numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from spendwatch.aws.ledger import Ledger
from spendwatch.services.meter import run_meter
from spendwatch.services.prices import PriceSettings
from spendwatch_emulator import LEDGER_TABLE, open_fleet
from spendwatch_emulator.fleet import parse_fleet

NOW = datetime(2026, 11, 20, 6, tzinfo=UTC)


def build_fleet(classic: int, shared: int, components: int, deleted_every: int) -> dict[str, Any]:
    endpoints: list[dict[str, Any]] = []
    for i in range(classic):
        spec: dict[str, Any] = {
            "name": f"classic-{i:05d}",
            "created_at": "2026-10-01T00:00:00Z",
            "tags": {"team": f"team-{i % 20}"},
            "variants": [{"name": "AllTraffic", "instance_type": "ml.m5.large", "instance_count": 1}],
        }
        if deleted_every and i % deleted_every == 0:
            spec["deleted_at"] = f"2026-11-20T0{4 + i % 2}:{i % 60:02d}:00Z"  # between the runs
        endpoints.append(spec)
    for i in range(shared):
        ics = [
            {"name": f"ic-{i:05d}-{j}", "accelerators_per_copy": 1, "cpu_cores_per_copy": 4, "copies": 1}
            | ({"deleted_at": "2026-11-20T04:30:00Z"} if deleted_every and j == 0 and i % deleted_every == 0 else {})
            for j in range(components)
        ]
        endpoints.append(
            {
                "name": f"shared-{i:05d}",
                "created_at": "2026-10-01T00:00:00Z",
                "metrics": {"enhanced": True, "publish_frequency_s": 60},
                "variants": [
                    {"name": "AllTraffic", "instance_type": "ml.g6.12xlarge", "instance_count": 1, "inference_components": ics}
                ],
            }
        )
    return {"spec_version": 1, "now": "2026-11-20T06:00:00Z", "history_hours": 36, "endpoints": endpoints}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--classic", type=int, default=600)
    parser.add_argument("--shared", type=int, default=200)
    parser.add_argument("--components", type=int, default=3)
    parser.add_argument("--deleted-every", type=int, default=10, help="every n-th endpoint is deleted during the runs")
    args = parser.parse_args()
    fleet = parse_fleet(build_fleet(args.classic, args.shared, args.components, args.deleted_every))
    resources = args.classic + args.shared * (1 + args.components)
    runs = []
    with open_fleet(fleet) as aws:
        assert aws.emulator is not None
        assert aws.emulator.set_clock is not None
        calls = aws.emulator.calls
        ledger = Ledger(aws.client("dynamodb"), LEDGER_TABLE, aws.retry)
        for hour in (3, 4, 5):
            start = NOW - timedelta(hours=6 - hour)
            aws.emulator.set_clock(start + timedelta(hours=1))
            before = Counter(calls)
            began = time.perf_counter()
            run = run_meter(
                _at(aws, start + timedelta(hours=1)), ledger, start, start + timedelta(hours=1), 60, PriceSettings()
            )
            spent = time.perf_counter() - began
            made = Counter(calls)
            made.subtract(before)
            runs.append(
                {
                    "interval": f"{start:%H:%M}",
                    "seconds": round(spent, 2),
                    "records": len(run.records),
                    "deleted_since_last_run": run.deleted,
                    "api_calls": {k: v for k, v in sorted(made.items()) if v},
                    "aws_calls_per_resource": round(
                        sum(v for k, v in made.items() if k not in {"PutItem", "GetItem", "Query", "TransactWriteItems"})
                        / resources,
                        3,
                    ),
                }
            )
    print(
        json.dumps(
            {
                "endpoints": args.classic + args.shared,
                "inference_components": args.shared * args.components,
                "runs": runs,
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            },
            indent=2,
        )
    )


def _at(aws: Any, when: datetime) -> Any:
    from dataclasses import replace

    return replace(aws, now=when)


if __name__ == "__main__":
    main()
