"""Price resolution as one service, used by the scan and the meter alike: the built-in
price book, then the Price List API (if asked), then overrides (file, SSM parameter), then
the emulated fleet's prices."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from spendwatch.aws.ledger import Ledger
from spendwatch.aws.memory import KnownPrice, MeterMemory
from spendwatch.aws.pricing_api import PRICING_API_REGION, SOURCE, PricingApi
from spendwatch.aws.session import AwsContext
from spendwatch.aws.ssm import read_parameter
from spendwatch.core.effective import EffectiveRates, load_override_rates
from spendwatch.core.errors import load_json_object
from spendwatch.core.inventory import Inventory
from spendwatch.core.pricing import PriceBook, load_overrides
from spendwatch.services.files import read_text


@dataclass(frozen=True)
class PriceSettings:
    price_file: Path | None = None
    price_parameter: str | None = None
    refresh_from_api: bool = False
    cache_path: Path | None = None


def resolve_prices(aws: AwsContext, inventory: Inventory, settings: PriceSettings) -> PriceBook:
    """Built-in table < Price List API (if asked) < price file / SSM parameter < fleet."""
    return _resolve(aws, inventory, settings)[0]


def resolve_meter_prices(aws: AwsContext, inventory: Inventory, settings: PriceSettings, memory: MeterMemory) -> PriceBook:
    """The meter's prices: as ``resolve_prices``, but a type whose live source failed is
    priced at its last known price (the records name that source and its date) or, with
    none, left unpriced, never guessed from the built-in table, so that the meter holds the
    line there. Every live price is remembered for the next outage."""
    book, live, failed = _resolve(aws, inventory, settings)
    known = memory.known_prices(aws.region)
    for instance_type in sorted(failed):
        last = known.get(instance_type)
        if last is None:
            book = book.without([instance_type])
        else:
            book = book.with_prices({instance_type: last.usd_per_hour}, f"last known: {last.source}, as of {last.as_of:%Y-%m-%d}")
    types = _types(inventory)
    for instance_type, (price, source) in sorted(live.items()):
        last = known.get(instance_type)
        if instance_type in types and (last is None or (last.usd_per_hour, last.source) != (price, source)):
            memory.remember_price(aws.region, instance_type, KnownPrice(price, source, aws.now))
    return book


def _types(inventory: Inventory) -> set[str]:
    return {v.instance_type for e in inventory.endpoints for v in e.variants if v.instance_type}


def _resolve(
    aws: AwsContext, inventory: Inventory, settings: PriceSettings
) -> tuple[PriceBook, dict[str, tuple[Decimal, str]], set[str]]:
    """The book, the prices live sources gave (type -> price, source), and the types whose
    live source failed."""
    book = PriceBook.builtin(aws.region)
    types = _types(inventory)
    live: dict[str, tuple[Decimal, str]] = {}
    failed: set[str] = set()
    if settings.refresh_from_api and types:
        api = PricingApi(aws.client("pricing", PRICING_API_REGION), aws.retry, settings.cache_path)
        found = api.hosting_prices(aws.region, types, aws.now)
        book = book.with_prices(found, SOURCE)
        live.update({t: (p, SOURCE) for t, p in found.items()})
        failed = api.failed - set(found)
    overrides: list[tuple[dict[str, Decimal], str]] = []
    for text, source in _override_texts(aws, settings):
        prices, specs = load_overrides(text, aws.region, source)
        book = book.with_specs(specs).with_prices(prices, source)
        overrides.append((prices, source))
    fleet_prices = _fleet_prices(aws)
    if fleet_prices:
        overrides.append((dict(fleet_prices), "fleet prices_usd_per_hour"))
        book = book.with_prices(fleet_prices, "fleet prices_usd_per_hour")
    for prices, source in overrides:
        live.update({t: (p, source) for t, p in prices.items()})
        failed -= set(prices)
    return book, live, failed


def _override_texts(aws: AwsContext, settings: PriceSettings) -> list[tuple[str, str]]:
    texts = []
    if settings.price_file is not None:
        texts.append((read_text(settings.price_file, "--prices"), str(settings.price_file)))
    if settings.price_parameter:
        name = settings.price_parameter
        texts.append((read_parameter(aws.client("ssm"), name, "prices parameter"), f"ssm:{name}"))
    return texts


def _fleet_prices(aws: AwsContext) -> Mapping[str, Decimal]:
    """With --fleet: the prices of the estate ``aws`` reads (an organization's estates may each have their own)."""
    if aws.emulator is None:
        return {}
    by_estate = getattr(aws.emulator, "prices_by_estate", None) or {}
    own = by_estate.get((aws.account_id or aws.emulator.account_id, aws.region))
    return own if own is not None else aws.emulator.prices_usd_per_hour


def effective_rates(aws: AwsContext, ledger: Ledger, places: list[str], settings: PriceSettings) -> EffectiveRates:
    """The effective rates of ``places``: the overrides' ``effective_rates`` (file, SSM
    parameter; the later wins) and those learned from reconciled bills (``core.effective``)."""
    overrides: dict[str, dict[str, Decimal]] = {}
    for text, source in _override_texts(aws, settings):
        load_overrides(text, aws.region, source)  # the whole document is checked, as the meter would
        for scope, rates in load_override_rates(load_json_object(text, source, OVERRIDE_FIELDS), source).items():
            overrides.setdefault(scope, {}).update(rates)
    return EffectiveRates(overrides, {where: ledger.learned_rates(where) for where in places})


OVERRIDE_FIELDS = ("prices_usd_per_hour", "instances", "effective_rates")
