"""Prices: given the built-in table, a price file, the fleet's own prices or the Price List
API, when instances are priced, then every figure is an exact decimal that carries its
source, and a type no layer knows is reported as unpriced, never charged as zero."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from spendwatch.aws.pricing_api import SOURCE, PricingApi
from spendwatch.core.errors import InputError
from spendwatch.core.money import format_money
from spendwatch.core.pricing import InstanceSpec, Price, PriceBook, load_overrides, parse_price_list
from spendwatch.services.prices import PriceSettings
from spendwatch.services.scan import ScanSettings, run_scan
from tests.conftest import components_by_name, emulated, endpoints_by_name, scan_json
from tests.fleets import component, endpoint, fleet, gpu_endpoint

G6 = "ml.g6.12xlarge"
UNKNOWN = "ml.g7.2xlarge"  # in no built-in table: a type newer than the code


# -- the built-in table --------------------------------------------------------------------


def test_builtin_book_prices_g6_12xlarge_exactly_with_its_hardware_and_source() -> None:
    book = PriceBook.builtin("us-east-1")

    price = book.price(G6)

    assert price is not None
    assert price.usd_per_hour == Decimal("5.752")
    assert str(price.usd_per_hour) == "5.752"  # the exact decimal, not a float's neighbour
    assert price.source.startswith("built-in: ")
    assert "Price List API" in price.source
    assert book.spec(G6) == InstanceSpec(gpus=4, vcpus=48)
    assert book.is_priced(G6)


def test_price_per_gpu_hour_of_g6_12xlarge_is_a_quarter_of_the_instance_exactly() -> None:
    assert PriceBook.builtin("us-east-1").per_gpu_hour(G6) == Decimal("1.438")


def test_worked_figure_four_gpus_for_ten_seconds_on_g6_12xlarge() -> None:
    book = PriceBook.builtin("us-east-1")
    per_gpu_hour = book.per_gpu_hour(G6)
    assert per_gpu_hour is not None

    cost = per_gpu_hour / 3600 * 4 * 10  # 5.752 / 4 / 3600 * 4 * 10

    assert format_money(cost) == "0.015978"
    assert Decimal(format_money(cost)) == Decimal("0.015978")


def test_a_type_without_gpus_has_no_price_per_gpu_hour_and_a_region_without_table_has_no_prices() -> None:
    assert PriceBook.builtin("us-east-1").per_gpu_hour("ml.m5.large") is None
    book = PriceBook.builtin("eu-south-2")
    assert book.price(G6) is None
    assert not book.is_priced(G6)


# -- price files and SSM parameters (load_overrides) ---------------------------------------


def test_a_region_entry_beats_the_star_entry_and_other_regions_are_ignored() -> None:
    text = json.dumps(
        {
            "prices_usd_per_hour": {
                "*": {"ml.m5.large": "0.5", "ml.c5.large": "0.2"},
                "us-east-1": {"ml.m5.large": "0.12"},
                "eu-west-1": {"ml.m5.large": "9"},
            }
        }
    )

    prices, specs = load_overrides(text, "us-east-1", "prices.json")

    assert prices == {"ml.m5.large": Decimal("0.12"), "ml.c5.large": Decimal("0.2")}
    assert specs == {}


def test_the_instances_section_adds_hardware_so_a_new_type_gets_a_price_per_gpu() -> None:
    text = json.dumps(
        {
            "prices_usd_per_hour": {"*": {"ml.g7.12xlarge": "8.8"}},
            "instances": {"ml.g7.12xlarge": {"gpus": 4, "vcpus": 48}},
        }
    )

    prices, specs = load_overrides(text, "us-east-1", "prices.json")
    book = PriceBook.builtin("us-east-1").with_specs(specs).with_prices(prices, "prices.json")

    assert specs == {"ml.g7.12xlarge": InstanceSpec(gpus=4, vcpus=48)}
    assert book.per_gpu_hour("ml.g7.12xlarge") == Decimal("2.2")
    assert book.price("ml.g7.12xlarge") == Price(Decimal("8.8"), "prices.json")
    assert book.price(G6) is not None  # the built-in layer is still there underneath


@pytest.mark.parametrize(
    ("text", "field"),
    [
        pytest.param("{not json", "prices.json", id="bad-json"),
        pytest.param("[]", "prices.json", id="not-an-object"),
        pytest.param(
            {"prices_usd_per_hour": {"us-east-1": {"ml.m5.large": 1.5}}},
            "prices.json: prices_usd_per_hour.us-east-1.ml.m5.large",
            id="float-price",
        ),
        pytest.param(
            {"prices_usd_per_hour": {"*": {"ml.m5.large": "-0.1"}}},
            "prices.json: prices_usd_per_hour.*.ml.m5.large",
            id="negative-price",
        ),
        pytest.param(
            {"prices_usd_per_hour": {"us-east-1": {"ml.m5.large": "cheap"}}},
            "prices.json: prices_usd_per_hour.us-east-1.ml.m5.large",
            id="not-a-number",
        ),
        pytest.param({"prices": {}}, "prices.json: prices", id="unknown-top-level-key"),
        pytest.param({"prices_usd_per_hour": []}, "prices.json: prices_usd_per_hour", id="prices-not-an-object"),
        pytest.param(
            {"prices_usd_per_hour": {"us-east-1": ["ml.m5.large"]}},
            "prices.json: prices_usd_per_hour.us-east-1",
            id="region-not-an-object",
        ),
        pytest.param({"instances": {"ml.g7.xlarge": {"gpus": 1}}}, "prices.json: instances.ml.g7.xlarge", id="instance-no-vcpus"),
        pytest.param(
            {"instances": {"ml.g7.xlarge": {"gpus": 1.0, "vcpus": 4}}},
            "prices.json: instances.ml.g7.xlarge",
            id="instance-float-gpus",
        ),
        pytest.param(
            {"instances": {"ml.g7.xlarge": {"gpus": -1, "vcpus": 4}}},
            "prices.json: instances.ml.g7.xlarge",
            id="instance-negative-gpus",
        ),
        pytest.param({"instances": {"ml.g7.xlarge": 4}}, "prices.json: instances.ml.g7.xlarge", id="instance-not-an-object"),
    ],
)
def test_a_malformed_price_file_is_an_input_error_naming_the_offending_path(text: Any, field: str) -> None:
    raw = text if isinstance(text, str) else json.dumps(text)

    with pytest.raises(InputError) as caught:
        load_overrides(raw, "us-east-1", "prices.json")

    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


# -- Price List API items ----------------------------------------------------------------


def _price_item(instance_name: str | None, usd: str, unit: str = "Hrs", **attributes: str) -> str:
    """A GetProducts item shaped like the real AmazonSageMaker ones."""
    sku = "8KTDNGEAUXR3PCJ8"
    attrs = {
        "servicecode": "AmazonSageMaker",
        "location": "US East (N. Virginia)",
        "locationType": "AWS Region",
        "regionCode": "us-east-1",
        "component": "Hosting",
        "usagetype": f"USE1-Host:{instance_name}",
        "operation": "RunInstance",
        "vCpu": "48",
        "gpu": "4",
        **attributes,
    }
    if instance_name is not None:
        attrs["instanceName"] = instance_name
    return json.dumps(
        {
            "product": {"productFamily": "ML Instance", "attributes": attrs, "sku": sku},
            "serviceCode": "AmazonSageMaker",
            "terms": {
                "OnDemand": {
                    f"{sku}.JRTCKXETXF": {
                        "priceDimensions": {
                            f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                                "unit": unit,
                                "endRange": "Inf",
                                "description": f"${usd} per Hosting {instance_name} in US East (N. Virginia)",
                                "appliesTo": [],
                                "rateCode": f"{sku}.JRTCKXETXF.6YS6EN2CT7",
                                "beginRange": "0",
                                "pricePerUnit": {"USD": usd},
                            }
                        },
                        "sku": sku,
                        "effectiveDate": "2026-11-01T00:00:00Z",
                        "offerTermCode": "JRTCKXETXF",
                        "termAttributes": {},
                    }
                }
            },
            "version": "20261101000000",
            "publicationDate": "2026-11-01T00:00:00Z",
        }
    )


def test_parse_price_list_picks_the_hourly_usd_price_of_a_realistic_get_products_item() -> None:
    items = [
        _price_item(G6, "5.7520000000"),
        _price_item(None, "0.14", unit="GB-Mo"),  # storage: no instance, skipped
        _price_item("ml.m5.large", "0.0000000000"),  # a free-tier line: no price
        _price_item("ml.c5.large", "0.002", unit="Quantity"),  # not an hourly price
    ]

    prices = parse_price_list(items)

    assert prices == {G6: Decimal("5.752")}


def test_parse_price_list_keeps_the_higher_figure_when_a_type_appears_twice() -> None:
    prices = parse_price_list([_price_item(G6, "5.1"), _price_item(G6, "5.752"), _price_item(G6, "4.9")])

    assert prices == {G6: Decimal("5.752")}


# -- prices in a scan ------------------------------------------------------------------------


def test_an_unknown_instance_type_is_reported_unpriced_and_adds_nothing_to_the_idle_cost() -> None:
    report = scan_json(fleet(endpoint("mystery", instance_type=UNKNOWN), endpoint("known")))

    mystery, known = endpoints_by_name(report)["mystery"], endpoints_by_name(report)["known"]
    assert mystery["status"] == known["status"] == "idle"
    assert mystery["hourly_cost_usd"] is None
    assert mystery["priced"] is False
    assert mystery["price_source"] is None
    assert mystery["unpriced_instance_types"] == [UNKNOWN]
    assert report["summary"]["unpriced_instance_types"] == [UNKNOWN]
    assert report["summary"]["idle_hourly_cost_usd"] == known["hourly_cost_usd"] == "0.115000"


def test_the_fleets_prices_override_the_builtin_ones_for_endpoints_and_components() -> None:
    doc = fleet(
        endpoint("cpu"),
        gpu_endpoint("gpu", [component("one-gpu", accelerators=1)]),
        prices_usd_per_hour={"ml.m5.large": "0.2", G6: "8"},
    )

    report = scan_json(doc)

    cpu, gpu = endpoints_by_name(report)["cpu"], endpoints_by_name(report)["gpu"]
    one_gpu = components_by_name(report)["one-gpu"]
    assert (cpu["hourly_cost_usd"], cpu["price_source"]) == ("0.200000", "fleet prices_usd_per_hour")
    assert (gpu["hourly_cost_usd"], gpu["price_source"]) == ("8.000000", "fleet prices_usd_per_hour")
    assert (one_gpu["hourly_cost_usd"], one_gpu["price_source"]) == ("2.000000", "fleet prices_usd_per_hour")


def test_a_price_file_overrides_the_builtin_table_and_the_fleet_overrides_the_file(tmp_path: Path) -> None:
    price_file = tmp_path / "prices.json"
    price_file.write_text(
        json.dumps({"prices_usd_per_hour": {"*": {"ml.c5.large": "0.3"}, "us-east-1": {"ml.m5.large": "0.2"}}}),
        encoding="utf-8",
    )
    doc = fleet(
        endpoint("from-file"),
        endpoint("from-fleet", instance_type="ml.c5.large"),
        prices_usd_per_hour={"ml.c5.large": "0.4"},
    )

    report = scan_json(doc, prices=PriceSettings(price_file=price_file))

    from_file, from_fleet = endpoints_by_name(report)["from-file"], endpoints_by_name(report)["from-fleet"]
    assert (from_file["hourly_cost_usd"], from_file["price_source"]) == ("0.200000", str(price_file))
    assert (from_fleet["hourly_cost_usd"], from_fleet["price_source"]) == ("0.400000", "fleet prices_usd_per_hour")


# -- the Price List API (emulated) ---------------------------------------------------------


def test_pricing_api_returns_the_fleets_prices_and_caches_them_for_a_week(tmp_path: Path) -> None:
    cache = tmp_path / "p.json"
    wanted = [UNKNOWN, G6, "ml.zz.large"]
    with emulated(fleet(endpoint("a"), prices_usd_per_hour={UNKNOWN: "3.5"})) as aws:
        api = PricingApi(aws.client("pricing", "us-east-1"), aws.retry, cache_path=cache)

        first = api.hosting_prices("us-east-1", wanted, aws.now)
        fetched = aws.emulator.calls["GetProducts"]
        # A later run (a new adapter, same cache file) within the week asks nothing.
        again = PricingApi(aws.client("pricing", "us-east-1"), aws.retry, cache_path=cache)
        second = again.hosting_prices("us-east-1", wanted, aws.now + timedelta(days=6))
        after_cached_call = aws.emulator.calls["GetProducts"]
        stale = again.hosting_prices("us-east-1", wanted, aws.now + timedelta(days=8))
        after_a_week = aws.emulator.calls["GetProducts"]

    assert first == {UNKNOWN: Decimal("3.5"), G6: Decimal("5.752")}
    assert fetched == 3  # one call per type, the unknown one included
    cached = json.loads(cache.read_text(encoding="utf-8"))
    assert set(cached["us-east-1"]) == set(wanted)
    assert cached["us-east-1"][UNKNOWN]["usd_per_hour"] == "3.5"
    assert cached["us-east-1"]["ml.zz.large"]["usd_per_hour"] is None  # "the API does not know" is cached too
    assert second == first
    assert after_cached_call == fetched
    assert stale == first
    assert after_a_week == fetched + 3


def test_a_scan_with_refreshed_prices_takes_them_from_the_price_list_api(tmp_path: Path) -> None:
    report = scan_json(fleet(endpoint("a")), prices=PriceSettings(refresh_from_api=True, cache_path=tmp_path / "c.json"))

    a = endpoints_by_name(report)["a"]
    assert a["hourly_cost_usd"] == "0.115000"
    assert a["price_source"] == SOURCE
    assert "Price List API" in a["price_source"]
    assert not a["price_source"].startswith("built-in")  # the built-in figure was only from the pricing page


def test_a_type_only_the_price_list_api_knows_is_priced_when_prices_are_refreshed() -> None:
    doc = fleet(endpoint("mystery", instance_type=UNKNOWN), prices_usd_per_hour={UNKNOWN: "3.5"})
    with emulated(doc) as aws:
        # Seen as a real account would be: the fleet's own price layer is off, so the only
        # place that knows the new type is the (emulated) Price List API.
        account = dataclasses.replace(aws, emulator=None)
        stale = run_scan(account, ScanSettings()).to_json()
        refreshed = run_scan(account, ScanSettings(prices=PriceSettings(refresh_from_api=True))).to_json()

    assert endpoints_by_name(stale)["mystery"]["priced"] is False
    assert stale["summary"]["unpriced_instance_types"] == [UNKNOWN]
    mystery = endpoints_by_name(refreshed)["mystery"]
    assert (mystery["hourly_cost_usd"], mystery["priced"]) == ("3.500000", True)
    assert "Price List API" in mystery["price_source"]
    assert refreshed["summary"]["unpriced_instance_types"] == []
    assert refreshed["summary"]["idle_hourly_cost_usd"] == "3.500000"
