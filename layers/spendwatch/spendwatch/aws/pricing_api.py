"""Price List API adapter (pricing:GetProducts, service code AmazonSageMaker), with a
file cache so a price is fetched at most once a week per region and type."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from spendwatch.aws.retry import DEFAULT_RETRY, RetryPolicy
from spendwatch.core.errors import AwsError
from spendwatch.core.pricing import parse_price_list
from spendwatch.core.timestamps import format_utc, parse_utc

log = logging.getLogger(__name__)
IAM_ACTIONS = ("pricing:GetProducts",)
PRICING_API_REGION = "us-east-1"  # the Price List API answers in us-east-1, eu-central-1, ap-south-1
CACHE_TTL = timedelta(days=7)
PRICE_ATTEMPTS = 3
SOURCE = "AWS Price List API (AmazonSageMaker, Hosting)"


class PricingApi:
    def __init__(self, client: Any, retry: RetryPolicy = DEFAULT_RETRY, cache_path: Path | None = None) -> None:
        self._client = client
        # A price the API cannot give now has a fallback (the last known one, or holding the
        # meter): a few quick tries, never minutes of a Lambda's time.
        self._retry = replace(retry, attempts=min(retry.attempts, PRICE_ATTEMPTS))
        self._cache_path = cache_path
        self.failed: set[str] = set()
        """Types whose price the last ``hosting_prices`` could not fetch (the API failed)."""

    def hosting_prices(self, region: str, instance_types: Iterable[str], now: datetime) -> dict[str, Decimal]:
        """On-demand hosting price per hour of each type in ``region``; types the API does
        not know are left out (and stay unpriced)."""
        self.failed = set()
        cache = self._load_cache()
        regional = cache.setdefault(region, {})
        found: dict[str, Decimal] = {}
        for instance_type in sorted(set(instance_types)):
            entry = regional.get(instance_type)
            if entry and now - parse_utc(entry["fetched_at"], "cache") < CACHE_TTL:
                if entry.get("usd_per_hour") is not None:
                    found[instance_type] = Decimal(entry["usd_per_hour"])
                continue
            try:
                price = self._fetch(region, instance_type)
            except AwsError as exc:
                log.warning("price of %s in %s not refreshed: %s", instance_type, region, exc)
                self.failed.add(instance_type)
                continue
            regional[instance_type] = {"fetched_at": format_utc(now), "usd_per_hour": str(price) if price is not None else None}
            if price is not None:
                found[instance_type] = price
        self._save_cache(cache)
        return found

    def _fetch(self, region: str, instance_type: str) -> Decimal | None:
        items: list[str] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {
                "ServiceCode": "AmazonSageMaker",
                "Filters": [
                    {"Type": "TERM_MATCH", "Field": "instanceName", "Value": instance_type},
                    {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
                    {"Type": "TERM_MATCH", "Field": "component", "Value": "Hosting"},
                ],
                "FormatVersion": "aws_v1",
                "MaxResults": 100,
            }
            if token:
                kwargs["NextToken"] = token
            page = self._retry.call("GetProducts", self._client.get_products, **kwargs)
            items.extend(page.get("PriceList", []))
            token = page.get("NextToken")
            if not token:
                break
        prices: dict[str, Decimal] = parse_price_list(items)
        return prices.get(instance_type)

    def _load_cache(self) -> dict[str, dict[str, Any]]:
        if self._cache_path is None or not self._cache_path.exists():
            return {}
        try:
            loaded = json.loads(self._cache_path.read_text(encoding="utf-8"))
            return loaded if isinstance(loaded, dict) else {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return {}  # a broken cache is only a cache

    def _save_cache(self, cache: dict[str, dict[str, Any]]) -> None:
        if self._cache_path is None:
            return
        self._cache_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._cache_path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(cache, indent=1, sort_keys=True), encoding="utf-8")
        temporary.replace(self._cache_path)  # atomic: a reader never sees half a file
