"""The idle scan as a service: inventory, usage and prices in, a ``ScanReport`` out.

Used by the CLI and the nightly Lambda alike; it talks to AWS only through adapters.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from spendwatch.aws.cloudwatch import CloudWatchMetrics
from spendwatch.aws.pricing_api import PRICING_API_REGION, SOURCE, PricingApi
from spendwatch.aws.sagemaker import SageMakerInventory
from spendwatch.aws.session import AwsContext
from spendwatch.aws.ssm import read_parameter
from spendwatch.errors import InputError
from spendwatch.idle import ScanReport, classify
from spendwatch.inventory import Inventory
from spendwatch.pricing import PriceBook, load_overrides
from spendwatch.timestamps import floor_minute
from spendwatch.usage import usage_series

log = logging.getLogger(__name__)

DEFAULT_LOOKBACK_HOURS = 24
DEFAULT_HISTORY_HOURS = 14 * 24  # minute data lives 15 days: idle_since exact within two weeks

Progress = Callable[[str, int, int], None]
"""Called with (phase, done, total)."""


@dataclass(frozen=True)
class PriceSettings:
    price_file: Path | None = None
    price_parameter: str | None = None
    refresh_from_api: bool = False
    cache_path: Path | None = None


@dataclass(frozen=True)
class ScanSettings:
    lookback_hours: int = DEFAULT_LOOKBACK_HOURS
    history_hours: int = DEFAULT_HISTORY_HOURS
    prices: PriceSettings = PriceSettings()

    def __post_init__(self) -> None:
        if not 1 <= self.lookback_hours <= 24 * 63:
            raise InputError("lookback_hours", f"must be between 1 and {24 * 63}, got {self.lookback_hours}")
        if self.history_hours < 1:
            raise InputError("history_hours", f"must be at least 1, got {self.history_hours}")


def resolve_prices(aws: AwsContext, inventory: Inventory, settings: PriceSettings) -> PriceBook:
    """Built-in table < Price List API (if asked) < price file / SSM parameter < fleet."""
    book = PriceBook.builtin(aws.region)
    types = {v.instance_type for e in inventory.endpoints for v in e.variants if v.instance_type}
    if settings.refresh_from_api and types:
        api = PricingApi(aws.client("pricing", PRICING_API_REGION), aws.retry, settings.cache_path)
        book = book.with_prices(api.hosting_prices(aws.region, types, aws.now), SOURCE)
    for text, source in _override_texts(aws, settings):
        prices, specs = load_overrides(text, aws.region, source)
        book = book.with_specs(specs).with_prices(prices, source)
    if aws.fleet is not None and aws.fleet.prices_usd_per_hour:
        book = book.with_prices(aws.fleet.prices_usd_per_hour, "fleet prices_usd_per_hour")
    return book


def _override_texts(aws: AwsContext, settings: PriceSettings) -> list[tuple[str, str]]:
    texts = []
    if settings.price_file is not None:
        try:
            texts.append((settings.price_file.read_text(encoding="utf-8"), str(settings.price_file)))
        except OSError as exc:
            raise InputError("--prices", f"cannot read {settings.price_file}: {exc.strerror}") from None
    if settings.price_parameter:
        name = settings.price_parameter
        texts.append((read_parameter(aws.client("ssm"), name), f"ssm:{name}"))
    return texts


def run_scan(
    aws: AwsContext, settings: ScanSettings, now: datetime | None = None, progress: Progress | None = None
) -> ScanReport:
    now = floor_minute(now or aws.now)
    if aws.fleet is not None:  # the emulated CloudWatch holds the fleet's history, no more
        settings = replace(settings, history_hours=min(settings.history_hours, aws.fleet.history_hours))
    inventory = SageMakerInventory(aws.client("sagemaker"), aws.retry, aws.workers).collect(
        aws.region, (lambda d, t: progress("inventory", d, t)) if progress else None
    )
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
    report = classify(inventory, usage, prices, now, settings.lookback_hours)
    return replace(report, history_hours=max(settings.history_hours, settings.lookback_hours))
