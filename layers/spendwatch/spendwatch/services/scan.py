"""The idle scan as a service: inventory, usage and prices in, a ``ScanReport`` out.

Used by the CLI and the nightly Lambda alike; it talks to AWS only through adapters.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from spendwatch.aws.cloudwatch import CloudWatchMetrics
from spendwatch.aws.session import AwsContext
from spendwatch.core.errors import InputError
from spendwatch.core.idle import ScanReport, classify
from spendwatch.core.timestamps import floor_minute
from spendwatch.core.usage import usage_series
from spendwatch.services.estate import collect_inventory
from spendwatch.services.gc import long_lived
from spendwatch.services.prices import PriceSettings, resolve_prices

log = logging.getLogger(__name__)

DEFAULT_LOOKBACK_HOURS = 24
DEFAULT_HISTORY_HOURS = 14 * 24  # minute data lives 15 days: idle_since exact within two weeks

Progress = Callable[[str, int, int], None]
"""Called with (phase, done, total)."""


@dataclass(frozen=True)
class ScanSettings:
    lookback_hours: int = DEFAULT_LOOKBACK_HOURS
    history_hours: int = DEFAULT_HISTORY_HOURS
    prices: PriceSettings = field(default_factory=PriceSettings)

    def __post_init__(self) -> None:
        if not 1 <= self.lookback_hours <= 24 * 63:
            raise InputError("lookback_hours", f"must be between 1 and {24 * 63}, got {self.lookback_hours}")
        if self.history_hours < 1:
            raise InputError("history_hours", f"must be at least 1, got {self.history_hours}")


def run_scan(
    aws: AwsContext, settings: ScanSettings, now: datetime | None = None, progress: Progress | None = None
) -> ScanReport:
    now = floor_minute(now or aws.now)
    if aws.emulator is not None:  # the emulated CloudWatch holds the fleet's history, no more
        settings = replace(settings, history_hours=min(settings.history_hours, aws.emulator.history_hours))
    inventory = collect_inventory(aws, (lambda d, t: progress("inventory", d, t)) if progress else None)
    log.info("inventory: %d endpoints, %d inference components", len(inventory.endpoints), len(inventory.components))
    metrics = CloudWatchMetrics(aws.client("cloudwatch"), aws.retry)
    usage = metrics.usage(
        usage_series(inventory),
        now,
        settings.lookback_hours,
        settings.history_hours,
        (lambda d, t: progress("metrics", d, t)) if progress else None,
    )
    log.info("usage read with %d GetMetricData calls", metrics.calls)
    prices = resolve_prices(aws, inventory, settings.prices)
    with long_lived():  # what was read stays alive: out of the collector's way while findings are made
        report = classify(inventory, usage, prices, now, settings.lookback_hours)
    return replace(report, history_hours=max(settings.history_hours, settings.lookback_hours))
