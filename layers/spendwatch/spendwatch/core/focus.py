"""The ledger as a FOCUS cost and usage dataset (FinOps Open Cost and Usage Specification 1.3,
with every column FOCUS 1.2 makes mandatory). Pure: records in, rows out.

One row per ledger record:

* an inference component's share, and the capacity no component held, are *allocated
  charges* of their endpoint variant's instance charge (the *origin charge*, FOCUS 1.3
  "data generator-calculated split cost allocation"). Every row of a split carries the origin's
  dimensions (``ResourceId`` = the endpoint's ARN, ``SkuId`` = the hosting usage type, its tags),
  and ``Allocated*`` columns name what the share went to. The origin is not a row of its own:
  its allocated charges add up to it exactly (cost, quantity, and ``AllocatedRatio`` to 1), so
  summing the dataset never counts an hour twice;
* a classic endpoint variant, charged whole, is an ordinary row with no ``Allocated*`` columns;
* a correction record (``spendwatch settle``) is a row with ``ChargeClass = Correction``, its
  figures the differences to add.

``ListCost`` is the record's cost at on-demand price; ``EffectiveCost`` (and ``BilledCost``,
the best estimate of what is invoiced for the usage) the effective cost where an effective rate
is known (``core.effective``), the list cost elsewhere. spendwatch's own fields are ``x_``
columns. Values are strings (CSV), empty for null.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from spendwatch.core.effective import EffectiveRates, apply_rate
from spendwatch.core.metering import CostRecord, RecordKind, largest_remainder
from spendwatch.core.money import format_money
from spendwatch.core.timestamps import format_utc

# FOCUS 1.2's mandatory columns: each is present (a test checks).
MANDATORY_1_2 = (
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
)
# Every other FOCUS 1.2 / 1.3 column this dataset can speak to (null where it has nothing to say).
OTHER_COLUMNS = (
    "AllocatedMethodId",
    "AllocatedMethodDetails",
    "AllocatedResourceId",
    "AllocatedResourceName",
    "AllocatedTags",
    "AvailabilityZone",
    "BillingAccountType",
    "CapacityReservationId",
    "CapacityReservationStatus",
    "ChargeFrequency",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractApplied",
    "ContractedUnitPrice",
    "HostProviderName",
    "InvoiceId",
    "ListUnitPrice",
    "PricingCategory",
    "PricingCurrency",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceProviderName",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
    "Tags",
)
SPENDWATCH_COLUMNS = (
    "x_SpendwatchKind",
    "x_Basis",
    "x_VariantName",
    "x_InstanceType",
    "x_InferenceComponentName",
    "x_ModelName",
    "x_GpuSeconds",
    "x_CoreSeconds",
    "x_InstanceSeconds",
    "x_PriceSource",
    "x_Correction",
    "x_EffectiveRate",
    "x_EffectiveRateSource",
)
COLUMNS = MANDATORY_1_2 + OTHER_COLUMNS + SPENDWATCH_COLUMNS
MONEY_COLUMNS = (
    "BilledCost",
    "ContractedCost",
    "EffectiveCost",
    "ListCost",
    "PricingCurrencyEffectiveCost",
)
PRICE_COLUMNS = ("ListUnitPrice", "ContractedUnitPrice", "PricingCurrencyListUnitPrice", "PricingCurrencyContractedUnitPrice")
QUANTITY_COLUMNS = ("PricingQuantity", "ConsumedQuantity")
TIME_COLUMNS = ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd")

ALLOCATED_BY_GPU = "spendwatch-gpu-seconds"
ALLOCATED_BY_CORES = "spendwatch-vcpu-seconds"
HOURS = Decimal(3600)
QUANTITY_QUANTUM = Decimal("0.000001")  # instance-hours
RATIO_QUANTUM = Decimal("0.0000000001")
PROVIDER = "AWS"
ISSUER = "Amazon Web Services, Inc."
SERVICE = "Amazon SageMaker"

# Usage-type prefixes of AWS regions (as the bill's usage types and SkuMeter carry them).
REGION_PREFIX = {
    "us-east-1": "USE1",
    "us-east-2": "USE2",
    "us-west-1": "USW1",
    "us-west-2": "USW2",
    "ca-central-1": "CAN1",
    "eu-west-1": "EU",
    "eu-west-2": "EUW2",
    "eu-west-3": "EUW3",
    "eu-central-1": "EUC1",
    "eu-central-2": "EUC2",
    "eu-north-1": "EUN1",
    "eu-south-1": "EUS1",
    "ap-northeast-1": "APN1",
    "ap-northeast-2": "APN2",
    "ap-northeast-3": "APN3",
    "ap-southeast-1": "APS1",
    "ap-southeast-2": "APS2",
    "ap-south-1": "APS3",
    "sa-east-1": "SAE1",
}
REGION_NAME = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "ca-central-1": "Canada (Central)",
    "eu-west-1": "Europe (Ireland)",
    "eu-west-2": "Europe (London)",
    "eu-west-3": "Europe (Paris)",
    "eu-central-1": "Europe (Frankfurt)",
    "eu-north-1": "Europe (Stockholm)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-south-1": "Asia Pacific (Mumbai)",
    "sa-east-1": "South America (Sao Paulo)",
}


def usage_type(region: str, instance_type: str) -> str:
    """The hosting usage type, e.g. ``USE1-Host:ml.g6.12xlarge``."""
    prefix = REGION_PREFIX.get(region)
    return f"{prefix}-Host:{instance_type}" if prefix else f"Host:{instance_type}"


def endpoint_arn(region: str, account_id: str, endpoint_name: str) -> str:
    """SageMaker ARNs carry the resource name in lower case."""
    return f"arn:aws:sagemaker:{region}:{account_id}:endpoint/{endpoint_name.lower()}"


def component_arn(region: str, account_id: str, component_name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account_id}:inference-component/{component_name.lower()}"


@dataclass(frozen=True)
class ExportContext:
    home_account_id: str
    """The account spendwatch runs in: records of ``account_id == ""`` are its."""
    billing_account_id: str
    rates: EffectiveRates


@lru_cache(maxsize=4096)
def _time(when: datetime) -> str:
    return format_utc(when)


@lru_cache(maxsize=256)
def _month(when: datetime) -> tuple[str, str]:
    first = when.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return format_utc(first), format_utc((first + timedelta(days=32)).replace(day=1))


def _origin(record: CostRecord) -> tuple[str, str, str, datetime, int]:
    return record.place, record.endpoint_name, record.variant_name, record.interval_start, record.correction


def _json(value: Mapping[str, str]) -> str:
    return _json_of(tuple(sorted(value.items())))


@lru_cache(maxsize=4096)
def _json_of(items: tuple[tuple[str, str], ...]) -> str:
    return json.dumps(dict(items), sort_keys=True, separators=(",", ":"))


@lru_cache(maxsize=65536)
def _number(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def rows(records: Iterable[CostRecord], context: ExportContext) -> list[dict[str, str]]:
    """The FOCUS rows of ``records`` (the rows of one origin charge must all be given)."""
    records = list(records)
    groups: dict[tuple[str, str, str, datetime, int], list[CostRecord]] = {}
    for record in records:
        groups.setdefault(_origin(record), []).append(record)
    endpoint_tags = {
        (r.place, r.endpoint_name, r.interval_start): r.tags for r in records if r.kind is not RecordKind.COMPONENT
    }
    rates: dict[tuple[str, str, str, str], tuple[Decimal, str] | None] = {}  # (place, endpoint, type, month)
    out: list[dict[str, str]] = []
    for group in groups.values():
        split = _split(group)
        for record in group:
            tags = endpoint_tags.get((record.place, record.endpoint_name, record.interval_start), {})
            key = (record.place, record.endpoint_name, record.instance_type, f"{record.interval_start:%Y-%m}")
            if key not in rates:
                rates[key] = context.rates.rate(record)
            out.append(_row(record, context, tags, split.get(id(record)), rates[key]))
    return out


@dataclass(frozen=True)
class _Share:
    ratio: Decimal
    quantity: Decimal


def _split(group: list[CostRecord]) -> dict[int, _Share]:
    """Each allocated record's share of its origin: the ratio of the origin's cost (adding
    up to 1) and of its instance-hours (adding up to the origin's)."""
    allocated = [r for r in group if r.kind is not RecordKind.ENDPOINT]
    if not allocated or group[0].correction:
        return {}
    costs = [r.cost_usd for r in allocated]
    if sum(costs, Decimal(0)) <= 0:
        return {}
    hours = (allocated[0].instance_seconds / HOURS).quantize(QUANTITY_QUANTUM)
    ratios = largest_remainder(costs, Decimal(1), RATIO_QUANTUM)
    quantities = largest_remainder(costs, hours, QUANTITY_QUANTUM)
    return {id(r): _Share(ratio, quantity) for r, ratio, quantity in zip(allocated, ratios, quantities, strict=True)}


def _row(
    record: CostRecord,
    context: ExportContext,
    endpoint_tags: Mapping[str, str],
    share: _Share | None,
    found: tuple[Decimal, str] | None,
) -> dict[str, str]:
    account = record.account_id or context.home_account_id
    paid = record.cost_usd if found is None else apply_rate(record.cost_usd, found[0])
    start, end = _month(record.interval_start)
    price = record.price_usd_per_hour
    if record.kind is RecordKind.ENDPOINT:
        quantity = (record.instance_seconds / HOURS).quantize(QUANTITY_QUANTUM)
    elif share is not None:
        quantity = share.quantity
    else:  # a correction's (or a zero-cost split's) share: the hours its cost buys
        quantity = (record.cost_usd / price).quantize(QUANTITY_QUANTUM) if price else Decimal(0)
    sku = usage_type(record.region, record.instance_type)
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        {
            "BilledCost": format_money(paid),
            "BillingAccountId": context.billing_account_id,
            "BillingCurrency": "USD",
            "BillingPeriodStart": start,
            "BillingPeriodEnd": end,
            "ChargeCategory": "Usage",
            "ChargeClass": "Correction" if record.correction else "",
            "ChargeDescription": _description(record),
            "ChargeFrequency": "Usage-Based",
            "ChargePeriodStart": _time(record.interval_start),
            "ChargePeriodEnd": _time(record.interval_end),
            "ConsumedQuantity": _number(quantity),
            "ConsumedUnit": "Hours",
            "ContractedCost": format_money(record.cost_usd),
            "ContractedUnitPrice": _number(price),
            "EffectiveCost": format_money(paid),
            "HostProviderName": PROVIDER,
            "InvoiceIssuerName": ISSUER,
            "ListCost": format_money(record.cost_usd),
            "ListUnitPrice": _number(price),
            "PricingCategory": "Standard",
            "PricingCurrency": "USD",
            "PricingCurrencyContractedUnitPrice": _number(price),
            "PricingCurrencyEffectiveCost": format_money(paid),
            "PricingCurrencyListUnitPrice": _number(price),
            "PricingQuantity": _number(quantity),
            "PricingUnit": "Hours",
            "ProviderName": PROVIDER,
            "PublisherName": ISSUER,
            "RegionId": record.region,
            "RegionName": REGION_NAME.get(record.region, record.region),
            "ResourceId": endpoint_arn(record.region, account, record.endpoint_name),
            "ResourceName": record.endpoint_name,
            "ResourceType": "Endpoint",
            "ServiceCategory": "AI and Machine Learning",
            "ServiceName": SERVICE,
            "ServiceProviderName": PROVIDER,
            "ServiceSubcategory": "Machine Learning",
            "SkuId": sku,
            "SkuMeter": sku,
            "SubAccountId": account,
            "Tags": _json(endpoint_tags),
            "x_SpendwatchKind": record.kind.value,
            "x_Basis": record.basis.value,
            "x_VariantName": record.variant_name,
            "x_InstanceType": record.instance_type,
            "x_InferenceComponentName": record.inference_component_name or "",
            "x_ModelName": record.model_name or "",
            "x_GpuSeconds": _number(record.gpu_seconds),
            "x_CoreSeconds": _number(record.core_seconds),
            "x_InstanceSeconds": _number(record.instance_seconds),
            "x_PriceSource": record.price_source,
            "x_Correction": str(record.correction),
            "x_EffectiveRate": str(found[0]) if found else "",
            "x_EffectiveRateSource": found[1] if found else "",
        }
    )
    if record.kind is not RecordKind.ENDPOINT:
        row.update(_allocated(record, account, share))
    return row


def _allocated(record: CostRecord, account: str, share: _Share | None) -> dict[str, str]:
    by_gpu = record.gpu_seconds > 0 or record.core_seconds == 0
    unit, used = ("GPU-Seconds", record.gpu_seconds) if by_gpu else ("vCPU-Seconds", record.core_seconds)
    details = (  # numbers written exactly, as JSON numbers (not floats, not strings)
        f'{{"Elements":[{{"AllocatedRatio":{_number(share.ratio)},"UsageQuantity":{_number(used)},"UsageUnit":"{unit}"}}]}}'
        if share is not None
        else ""
    )
    if record.kind is RecordKind.COMPONENT and record.inference_component_name:
        resource_id = component_arn(record.region, account, record.inference_component_name)
        name = record.inference_component_name
    else:  # the capacity no component held: allocated to the endpoint itself, named for what it is
        resource_id = endpoint_arn(record.region, account, record.endpoint_name)
        name = f"{record.endpoint_name} (unallocated capacity)"
    return {
        "AllocatedMethodId": ALLOCATED_BY_GPU if by_gpu else ALLOCATED_BY_CORES,
        "AllocatedMethodDetails": details,
        "AllocatedResourceId": resource_id,
        "AllocatedResourceName": name,
        "AllocatedTags": _json(record.tags),
    }


def _description(record: CostRecord) -> str:
    what = {
        RecordKind.COMPONENT: f"inference component {record.inference_component_name}'s share of",
        RecordKind.UNALLOCATED: "capacity no inference component held on",
        RecordKind.ENDPOINT: "",
    }[record.kind]
    correction = "Correction: " if record.correction else ""
    text = f"{correction}SageMaker real-time inference, {what} {record.instance_type} endpoint {record.endpoint_name}"
    return text.replace("  ", " ")


def totals(rows_: Iterable[Mapping[str, str]], column: str) -> Decimal:
    return sum((Decimal(r[column]) for r in rows_ if r[column]), Decimal(0))

