"""Price resolution as one service, used by the scan and the meter alike: the built-in
price book, then the Price List API (if asked), then overrides (file, SSM parameter), then
the emulated fleet's prices."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spendwatch.aws.pricing_api import PRICING_API_REGION, SOURCE, PricingApi
from spendwatch.aws.session import AwsContext
from spendwatch.aws.ssm import read_parameter
from spendwatch.core.errors import InputError
from spendwatch.core.inventory import Inventory
from spendwatch.core.pricing import PriceBook, load_overrides


@dataclass(frozen=True)
class PriceSettings:
    price_file: Path | None = None
    price_parameter: str | None = None
    refresh_from_api: bool = False
    cache_path: Path | None = None


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
    if aws.emulator is not None and aws.emulator.prices_usd_per_hour:
        book = book.with_prices(aws.emulator.prices_usd_per_hour, "fleet prices_usd_per_hour")
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
