"""The price book: instance type -> on-demand hosting price per hour in a region, and the
GPUs and vCPUs of each instance type.

Layers, later ones winning: the built-in table below, a price file or SSM parameter
(``load_overrides``), prices read from the AWS Price List API (``spendwatch.aws.pricing_api``)
and, with ``--fleet``, the fleet's ``prices_usd_per_hour``. Every price carries its source.
A type found in no layer is *unpriced*: reported, never charged as zero.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from spendwatch.core.errors import InputError, load_json_object
from spendwatch.core.money import parse_money


@dataclass(frozen=True)
class InstanceSpec:
    gpus: int
    vcpus: int


@dataclass(frozen=True)
class Price:
    usd_per_hour: Decimal
    source: str


# Hardware of SageMaker hosting instance types (GPUs = NVIDIA GPUs or Neuron devices).
# Source: the instance families' AWS product pages (accelerated computing: G4dn, G5, G6,
# G6e, P4d, P5, Inf2; general purpose M5; compute optimized C5; burstable T2).
INSTANCE_SPECS: dict[str, InstanceSpec] = {
    "ml.t2.medium": InstanceSpec(0, 2),
    "ml.t2.large": InstanceSpec(0, 2),
    "ml.t2.xlarge": InstanceSpec(0, 4),
    "ml.m5.large": InstanceSpec(0, 2),
    "ml.m5.xlarge": InstanceSpec(0, 4),
    "ml.m5.2xlarge": InstanceSpec(0, 8),
    "ml.m5.4xlarge": InstanceSpec(0, 16),
    "ml.m5.12xlarge": InstanceSpec(0, 48),
    "ml.m5.24xlarge": InstanceSpec(0, 96),
    "ml.c5.large": InstanceSpec(0, 2),
    "ml.c5.xlarge": InstanceSpec(0, 4),
    "ml.c5.2xlarge": InstanceSpec(0, 8),
    "ml.c5.4xlarge": InstanceSpec(0, 16),
    "ml.c5.9xlarge": InstanceSpec(0, 36),
    "ml.c5.18xlarge": InstanceSpec(0, 72),
    "ml.g4dn.xlarge": InstanceSpec(1, 4),
    "ml.g4dn.2xlarge": InstanceSpec(1, 8),
    "ml.g4dn.4xlarge": InstanceSpec(1, 16),
    "ml.g4dn.8xlarge": InstanceSpec(1, 32),
    "ml.g4dn.12xlarge": InstanceSpec(4, 48),
    "ml.g4dn.16xlarge": InstanceSpec(1, 64),
    "ml.p4d.24xlarge": InstanceSpec(8, 96),
    "ml.p5.48xlarge": InstanceSpec(8, 192),
    "ml.inf2.xlarge": InstanceSpec(1, 4),
    "ml.inf2.8xlarge": InstanceSpec(1, 32),
    "ml.inf2.24xlarge": InstanceSpec(6, 96),
    "ml.inf2.48xlarge": InstanceSpec(12, 192),
}
for _family in ("g5", "g6", "g6e"):
    for _size, _spec in {
        "xlarge": InstanceSpec(1, 4),
        "2xlarge": InstanceSpec(1, 8),
        "4xlarge": InstanceSpec(1, 16),
        "8xlarge": InstanceSpec(1, 32),
        "12xlarge": InstanceSpec(4, 48),
        "16xlarge": InstanceSpec(1, 64),
        "24xlarge": InstanceSpec(4, 96),
        "48xlarge": InstanceSpec(8, 192),
    }.items():
        INSTANCE_SPECS[f"ml.{_family}.{_size}"] = _spec

_VERIFIED = "AWS Price List API (AmazonSageMaker, Hosting, us-east-1), verified 2026-11"
_PAGE = "SageMaker pricing page, real-time inference, us-east-1 (unverified: refresh or override)"

# Built-in on-demand hosting prices. Only the first figure is verified; the rest are the
# public pricing page's figures as recorded when the table was written, and published
# figures disagree with each other. Use --refresh-prices (Price List API) or a price file
# for money that matters; the source travels with every figure into every report.
BUILTIN_PRICES: dict[str, dict[str, tuple[str, str]]] = {
    "us-east-1": {
        "ml.g6.12xlarge": ("5.752", _VERIFIED),
        "ml.t2.medium": ("0.056", _PAGE),
        "ml.m5.large": ("0.115", _PAGE),
        "ml.m5.xlarge": ("0.23", _PAGE),
        "ml.m5.2xlarge": ("0.461", _PAGE),
        "ml.m5.4xlarge": ("0.922", _PAGE),
        "ml.c5.large": ("0.102", _PAGE),
        "ml.c5.xlarge": ("0.204", _PAGE),
        "ml.c5.2xlarge": ("0.408", _PAGE),
        "ml.c5.4xlarge": ("0.816", _PAGE),
        "ml.g4dn.xlarge": ("0.7364", _PAGE),
        "ml.g4dn.2xlarge": ("0.94", _PAGE),
        "ml.g4dn.4xlarge": ("1.505", _PAGE),
        "ml.g4dn.12xlarge": ("4.89", _PAGE),
        "ml.g5.xlarge": ("1.408", _PAGE),
        "ml.g5.2xlarge": ("1.515", _PAGE),
        "ml.g5.4xlarge": ("2.03", _PAGE),
        "ml.g5.12xlarge": ("7.09", _PAGE),
        "ml.g5.48xlarge": ("20.36", _PAGE),
        "ml.p4d.24xlarge": ("37.688", _PAGE),
    },
}


class PriceBook:
    """Prices of one region plus the hardware of every known instance type."""

    def __init__(
        self,
        region: str,
        prices: Mapping[str, Price],
        specs: Mapping[str, InstanceSpec] | None = None,
    ) -> None:
        self.region = region
        self._prices = dict(prices)
        self._specs = dict(INSTANCE_SPECS if specs is None else specs)

    @classmethod
    def builtin(cls, region: str) -> PriceBook:
        table = BUILTIN_PRICES.get(region, {})
        return cls(
            region,
            {t: Price(Decimal(p), f"built-in: {src}") for t, (p, src) in table.items()},
        )

    def price(self, instance_type: str) -> Price | None:
        return self._prices.get(instance_type)

    def spec(self, instance_type: str) -> InstanceSpec | None:
        return self._specs.get(instance_type)

    def is_priced(self, instance_type: str) -> bool:
        return instance_type in self._prices and instance_type in self._specs

    def with_prices(self, prices: Mapping[str, Decimal], source: str) -> PriceBook:
        """A new book where ``prices`` win over what this one knew."""
        merged = dict(self._prices)
        merged.update({t: Price(p, source) for t, p in prices.items()})
        return PriceBook(self.region, merged, self._specs)

    def without(self, instance_types: Iterable[str]) -> PriceBook:
        """A new book that does not price ``instance_types`` (their live source failed)."""
        drop = set(instance_types)
        return PriceBook(self.region, {t: p for t, p in self._prices.items() if t not in drop}, self._specs)

    def with_specs(self, specs: Mapping[str, InstanceSpec]) -> PriceBook:
        return PriceBook(self.region, self._prices, {**self._specs, **specs})

    def per_gpu_hour(self, instance_type: str) -> Decimal | None:
        price, spec = self.price(instance_type), self.spec(instance_type)
        if price is None or spec is None or spec.gpus == 0:
            return None
        return price.usd_per_hour / spec.gpus

    def per_vcpu_hour(self, instance_type: str) -> Decimal | None:
        price, spec = self.price(instance_type), self.spec(instance_type)
        if price is None or spec is None or spec.vcpus == 0:
            return None
        return price.usd_per_hour / spec.vcpus


def load_overrides(text: str, region: str, source: str) -> tuple[dict[str, Decimal], dict[str, InstanceSpec]]:
    """Read a price file or SSM parameter value (JSON)::

        {"prices_usd_per_hour": {"us-east-1": {"ml.g5.xlarge": "1.408"}, "*": {...}},
         "instances": {"ml.g7.xlarge": {"gpus": 1, "vcpus": 4}},
         "effective_rates": {"us-east-1": {"ml.g6.12xlarge": "0.70"}}}

    (``effective_rates`` is read by ``core.effective.load_override_rates``.)
    ``"*"`` applies to every region; a region's own entry wins over it. Returns the prices
    for ``region`` and any instance hardware the file adds. Errors name the field.
    """
    document = load_json_object(text, source, ("prices_usd_per_hour", "instances", "effective_rates"))
    prices: dict[str, Decimal] = {}
    table = document.get("prices_usd_per_hour", {})
    if not isinstance(table, dict):
        raise InputError(f"{source}: prices_usd_per_hour", "expected an object of region -> {instance type: price}")
    for scope in ("*", region):
        entries = table.get(scope, {})
        if not isinstance(entries, dict):
            raise InputError(f"{source}: prices_usd_per_hour.{scope}", "expected an object of instance type -> price")
        for instance_type, value in entries.items():
            prices[instance_type] = parse_money(value, f"{source}: prices_usd_per_hour.{scope}.{instance_type}")
    specs: dict[str, InstanceSpec] = {}
    instances = document.get("instances", {})
    if not isinstance(instances, dict):
        raise InputError(f"{source}: instances", "expected an object of instance type -> {gpus, vcpus}")
    for instance_type, hw in instances.items():
        where = f"{source}: instances.{instance_type}"
        if not isinstance(hw, dict) or not all(
            isinstance(hw.get(k), int) and not isinstance(hw.get(k), bool) and hw[k] >= 0 for k in ("gpus", "vcpus")
        ):
            raise InputError(where, 'expected {"gpus": int >= 0, "vcpus": int >= 0}')
        specs[instance_type] = InstanceSpec(hw["gpus"], hw["vcpus"])
    return prices, specs


def parse_price_list(price_list: Iterable[str]) -> dict[str, Decimal]:
    """Hosting prices from Price List API ``GetProducts`` items (JSON strings).

    Reads ``product.attributes.instanceName`` and the on-demand
    ``terms.OnDemand.*.priceDimensions.*.pricePerUnit.USD``; items without an hourly USD price
    are skipped. When a type appears twice the higher figure wins (never under-charge).
    """
    prices: dict[str, Decimal] = {}
    for raw in price_list:
        item = json.loads(raw)
        attributes = item.get("product", {}).get("attributes", {})
        instance_type = attributes.get("instanceName") or attributes.get("instanceType")
        if not instance_type:
            continue
        for term in item.get("terms", {}).get("OnDemand", {}).values():
            for dimension in term.get("priceDimensions", {}).values():
                usd = dimension.get("pricePerUnit", {}).get("USD")
                unit = str(dimension.get("unit", "")).lower()
                if usd is None or (unit and "hr" not in unit and "hour" not in unit):
                    continue
                value = Decimal(usd)
                if value > 0 and value > prices.get(instance_type, Decimal(0)):
                    prices[instance_type] = value
    return prices
