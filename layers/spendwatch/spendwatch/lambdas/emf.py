"""The derived metrics, written as CloudWatch Embedded Metric Format with aws-embedded-metrics.

Dimensions are never finer than the endpoint (each distinct combination is a billed custom
metric): a run-level document with no dimension but the region, and one document per
endpoint that has idle resources.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal

from aws_embedded_metrics.logger.metrics_logger import MetricsLogger
from aws_embedded_metrics.logger.metrics_logger_factory import create_metrics_logger

from spendwatch.core import metricnames as mn
from spendwatch.core.idle import ScanReport, Status
from spendwatch.core.metering import CostRecord, Interval, RecordKind


def _logger(namespace: str, dimensions: dict[str, str]) -> MetricsLogger:
    metrics = create_metrics_logger()
    metrics.set_namespace(namespace)
    # No LogGroup/ServiceName/ServiceType defaults: each would multiply the metrics billed.
    metrics.set_dimensions(dimensions, use_default=False)
    return metrics


def emit_scan_metrics(report: ScanReport, namespace: str, per_endpoint: bool = True) -> int:
    """Write the scan's EMF documents to stdout (Lambda ships them); returns how many."""
    return asyncio.run(_emit(report, namespace, per_endpoint))


async def _emit(report: ScanReport, namespace: str, per_endpoint: bool) -> int:
    run = _logger(namespace, {"Region": report.region})
    run.put_metric(mn.SCANNED_ENDPOINTS, len(report.endpoints), "Count")
    run.put_metric(mn.IDLE_ENDPOINTS, len(report.idle_endpoints), "Count")
    run.put_metric(mn.IDLE_COMPONENTS, len(report.idle_components), "Count")
    run.put_metric(mn.IDLE_COST_PER_HOUR, float(report.idle_hourly_cost), "None")
    run.put_metric(mn.UNPRICED_RESOURCES, _unpriced_count(report), "Count")
    run.set_property("scannedAt", report.scanned_at.isoformat())
    await run.flush()
    documents = 1
    if not per_endpoint:
        return documents
    idle_endpoints = {f.endpoint.name: f for f in report.idle_endpoints}
    components_by_endpoint: dict[str, list[float]] = {}
    for finding in report.idle_components:
        if finding.component.endpoint_name in idle_endpoints:
            continue  # already counted whole with its endpoint
        components_by_endpoint.setdefault(finding.component.endpoint_name, []).append(float(finding.cost.usd_per_hour or 0))
    for name in sorted(set(idle_endpoints) | set(components_by_endpoint)):
        doc = _logger(namespace, {"EndpointName": name})
        endpoint_finding = idle_endpoints.get(name)
        cost = float(endpoint_finding.cost.usd_per_hour or 0) if endpoint_finding else sum(components_by_endpoint[name])
        doc.put_metric(mn.IDLE_COST_PER_HOUR, cost, "None")
        doc.put_metric(mn.IDLE_COMPONENTS, len(components_by_endpoint.get(name, [])), "Count")
        await doc.flush()
        documents += 1
    return documents


def _unpriced_count(report: ScanReport) -> int:
    return sum(1 for f in report.endpoints if f.cost.usd_per_hour is None and f.status is not Status.EXCLUDED) + sum(
        1 for f in report.components if f.cost.usd_per_hour is None and f.status is not Status.EXCLUDED
    )


def emit_meter_metrics(
    region: str, interval: Interval, records: list[CostRecord], namespace: str, now: datetime, account_id: str | None = None
) -> int:
    """The cluster and per-model views of one metered interval: per component its cost and
    GPUs held; per endpoint GPUs used and free, unallocated and whole cost; per region the
    free GPUs and that an interval was metered. Timestamped at the interval's start."""
    return asyncio.run(_emit_meter(region, interval, records, namespace, now, account_id))


async def _emit_meter(
    region: str, interval: Interval, records: list[CostRecord], namespace: str, now: datetime, account_id: str | None
) -> int:
    seconds = Decimal(interval.seconds)
    # CloudWatch takes EMF timestamps up to two weeks old: an older backfill is ledger-only.
    if (now - interval.start).days >= 14:
        return 0
    stamp = interval.start
    documents = 0
    per_endpoint: dict[str, dict[str, Decimal]] = {}
    for record in records:
        totals = per_endpoint.setdefault(
            record.endpoint_name, {"used": Decimal(0), "free": Decimal(0), "unallocated": Decimal(0), "cost": Decimal(0)}
        )
        totals["cost"] += record.cost_usd
        if record.kind is RecordKind.COMPONENT:
            totals["used"] += record.gpu_seconds
            doc = _logger(
                namespace, {mn.DIM_ENDPOINT: record.endpoint_name, mn.DIM_COMPONENT: record.inference_component_name or ""}
            )
            doc.set_timestamp(stamp)
            doc.put_metric(mn.COMPONENT_COST, float(record.cost_usd), "None")
            doc.put_metric(mn.COMPONENT_GPUS_HELD, float(record.gpu_seconds / seconds), "Count")
            await doc.flush()
            documents += 1
        elif record.kind is RecordKind.UNALLOCATED:
            totals["free"] += record.gpu_seconds
            totals["unallocated"] += record.cost_usd
    free_total = Decimal(0)
    for name, totals in sorted(per_endpoint.items()):
        doc = _logger(namespace, {mn.DIM_ENDPOINT: name})
        doc.set_timestamp(stamp)
        doc.put_metric(mn.ENDPOINT_GPUS_USED, float(totals["used"] / seconds), "Count")
        doc.put_metric(mn.ENDPOINT_GPUS_FREE, float(totals["free"] / seconds), "Count")
        doc.put_metric(mn.UNALLOCATED_COST, float(totals["unallocated"]), "None")
        doc.put_metric(mn.ENDPOINT_COST, float(totals["cost"]), "None")
        await doc.flush()
        documents += 1
        free_total += totals["free"] / seconds
    run = _logger(namespace, {"Region": region})
    run.set_timestamp(stamp)
    run.put_metric(mn.METERED_INTERVALS, 1, "Count")
    run.put_metric(mn.ENDPOINT_GPUS_FREE, float(free_total), "Count")
    await run.flush()
    if account_id is not None:  # organization mode: the dashboard's cost by account
        account = _logger(namespace, {mn.DIM_ACCOUNT: account_id, "Region": region})
        account.set_timestamp(stamp)
        account.put_metric(mn.ACCOUNT_COST, float(sum((r.cost_usd for r in records), Decimal(0))), "None")
        await account.flush()
        documents += 1
    return documents + 1


def emit_meter_run(region: str, unpriced: int, lag_hours: float, namespace: str) -> None:
    """Run-level health of the meter: unpriced resources holding it back, and how far behind
    now the ledger is (both alarmed on in template.yaml)."""
    _emit_region(region, namespace, {mn.UNPRICED_RESOURCES: (unpriced, "Count"), mn.METER_LAG_HOURS: (lag_hours, "None")})


def emit_notifier_metrics(region: str, sent: int, budget_alerts: int, namespace: str) -> None:
    _emit_region(region, namespace, {mn.NOTIFICATIONS_SENT: (sent, "Count"), mn.BUDGET_ALERTS: (budget_alerts, "Count")})


def emit_remediation_metrics(region: str, done: int, failed: int, monthly_saving_usd: float, namespace: str) -> None:
    """What one remediation run did: emitted once, after acting (a replay acts on nothing and says 0)."""
    _emit_region(
        region,
        namespace,
        {
            mn.REMEDIATION_ACTIONS: (done, "Count"),
            mn.REMEDIATION_FAILED: (failed, "Count"),
            mn.REMEDIATION_SAVING: (monthly_saving_usd, "None"),
        },
    )


def emit_fanout_report(task: str, failed: int, succeeded: int, namespace: str) -> None:
    """The fan-out's outcome: ``FailedTargets`` (alarmed) and ``SucceededTargets``, dimension ``Task``."""
    _emit_region(task, namespace, {mn.FAILED_TARGETS: (failed, "Count"), mn.SUCCEEDED_TARGETS: (succeeded, "Count")}, "Task")


def _emit_region(region: str, namespace: str, metrics: dict[str, tuple[float, str]], dimension: str = "Region") -> None:
    """One EMF document of run-level metrics, dimension ``Region`` (or ``dimension``)."""

    async def emit() -> None:
        run = _logger(namespace, {dimension: region})
        for name, (value, unit) in metrics.items():
            run.put_metric(name, value, unit)
        await run.flush()

    asyncio.run(emit())
