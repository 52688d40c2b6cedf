"""What each function does, given its parsed event and validated configuration. The
files under functions/ only set up Powertools and call in here."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from spendwatch.aws.reports import ReportStore
from spendwatch.aws.session import lambda_aws
from spendwatch.config import IdleScanConfig
from spendwatch.emf import emit_scan_metrics
from spendwatch.events import ScheduledScan
from spendwatch.scan import PriceSettings, ScanSettings, run_scan


def idle_scan(event: ScheduledScan, config: IdleScanConfig, log: Any) -> dict[str, Any]:
    aws = lambda_aws(config.region, event.scheduled_time)
    settings = ScanSettings(
        lookback_hours=event.lookback_hours or config.lookback_hours,
        history_hours=config.history_hours,
        prices=PriceSettings(
            price_parameter=config.prices_parameter,
            refresh_from_api=config.refresh_prices,
            # survives warm starts; a cold start asks the Price List API again
            cache_path=Path(tempfile.gettempdir()) / "spendwatch-prices.json",
        ),
    )
    report = run_scan(aws, settings)
    document = report.to_json()
    stored = ReportStore(aws.client("dynamodb"), config.table_name, aws.retry).put(document, report.scanned_at, report.region)
    emit_scan_metrics(report, config.namespace, config.endpoint_metrics)
    summary = {**document["summary"], "scanned_at": document["scanned_at"], "region": report.region,
               "stored": stored.created, "report_key": {"pk": stored.key[0], "sk": stored.key[1]}}
    log.info("idle scan done", extra={"summary": summary})
    return summary
