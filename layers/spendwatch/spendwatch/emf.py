"""The derived metrics, written as CloudWatch Embedded Metric Format with aws-embedded-metrics.

Dimensions are never finer than the endpoint (each distinct combination is a billed custom
metric): a run-level document with no dimension but the region, and one document per
endpoint that has idle resources.
"""

from __future__ import annotations

import asyncio

from aws_embedded_metrics.logger.metrics_logger import MetricsLogger
from aws_embedded_metrics.logger.metrics_logger_factory import create_metrics_logger

from spendwatch import metricnames as mn
from spendwatch.idle import ScanReport, Status


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
        components_by_endpoint.setdefault(finding.component.endpoint_name, []).append(
            float(finding.cost.usd_per_hour or 0)
        )
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
