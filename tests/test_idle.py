"""Classification, per the CLI contract: statuses, their precedence, the window's edges."""

from __future__ import annotations

import pytest

from tests.conftest import components_by_name, endpoints_by_name, scan_json
from tests.fleets import component, endpoint, fleet, gpu_endpoint, seg

IGNORE = {"spendwatch:ignore": "true"}


def status_of(doc: dict, name: str, lookback_hours: int = 24) -> str:
    report = scan_json(doc, lookback_hours)
    found = endpoints_by_name(report) | components_by_name(report)
    return str(found[name]["status"])


def test_tiny_fleet_idle_and_active_with_hourly_costs(tiny_fleet: dict) -> None:
    report = scan_json(tiny_fleet)
    endpoints, components = endpoints_by_name(report), components_by_name(report)
    assert endpoints["churn-model"]["status"] == "idle"
    assert endpoints["churn-model"]["hourly_cost_usd"] == "0.115000"
    assert endpoints["churn-model"]["idle_since"] == "2026-11-19T02:00:00Z"
    assert components["ic-summarize"]["status"] == "idle"
    assert components["ic-summarize"]["hourly_cost_usd"] == "1.438000"
    assert components["ic-chat"]["status"] == "active"
    assert components["ic-chat"]["hourly_cost_usd"] == "2.876000"
    assert endpoints["genai-shared"]["status"] == "active"
    assert report["summary"]["idle_hourly_cost_usd"] == "1.553000"


# -- endpoint statuses and their precedence ----------------------------------------------


def test_endpoint_without_traffic_is_idle() -> None:
    assert status_of(fleet(endpoint("quiet")), "quiet") == "idle"


def test_endpoint_with_traffic_in_window_is_active() -> None:
    doc = fleet(endpoint("busy", traffic=[seg("2026-11-20T01:00:00Z", "2026-11-20T02:00:00Z")]))
    report = scan_json(doc)
    assert endpoints_by_name(report)["busy"]["status"] == "active"
    assert endpoints_by_name(report)["busy"]["invocations"] == 60


def test_excluded_beats_not_in_service_and_active() -> None:
    doc = fleet(endpoint("kept", tags=IGNORE, status="Failed", traffic=[seg("2026-11-20T01:00:00Z", "2026-11-20T02:00:00Z")]))
    assert status_of(doc, "kept") == "excluded"


@pytest.mark.parametrize("value", ["true", "TRUE", " True "])
def test_ignore_tag_is_case_and_blank_insensitive(value: str) -> None:
    assert status_of(fleet(endpoint("kept", tags={"spendwatch:ignore": value})), "kept") == "excluded"


def test_ignore_tag_other_values_do_not_exclude() -> None:
    assert status_of(fleet(endpoint("kept", tags={"spendwatch:ignore": "no"})), "kept") == "idle"


def test_not_in_service_beats_active_and_new() -> None:
    doc = fleet(
        endpoint(
            "updating",
            status="Updating",
            created_at="2026-11-20T05:00:00Z",
            traffic=[seg("2026-11-20T05:00:00Z", "2026-11-20T06:00:00Z")],
        )
    )
    assert status_of(doc, "updating") == "not-in-service"


def test_active_beats_new() -> None:
    doc = fleet(
        endpoint("fresh", created_at="2026-11-20T04:00:00Z", traffic=[seg("2026-11-20T04:30:00Z", "2026-11-20T05:00:00Z")])
    )
    assert status_of(doc, "fresh") == "active"


def test_endpoint_created_inside_window_without_traffic_is_new() -> None:
    assert status_of(fleet(endpoint("fresh", created_at="2026-11-20T03:10:00Z")), "fresh") == "new"


def test_endpoint_created_exactly_at_window_start_is_new() -> None:
    assert status_of(fleet(endpoint("edge", created_at="2026-11-19T06:00:00Z")), "edge") == "new"


def test_endpoint_created_a_minute_before_window_is_idle() -> None:
    assert status_of(fleet(endpoint("edge", created_at="2026-11-19T05:59:00Z")), "edge") == "idle"


def test_traffic_ending_just_before_window_is_idle_with_idle_since() -> None:
    doc = fleet(endpoint("churn", traffic=[seg("2026-11-19T01:00:00Z", "2026-11-19T06:00:00Z")]))
    found = endpoints_by_name(scan_json(doc))["churn"]
    assert found["status"] == "idle"
    assert found["invocations"] == 0
    assert found["idle_since"] == "2026-11-19T06:00:00Z"


def test_traffic_in_first_minute_of_window_is_active() -> None:
    doc = fleet(endpoint("edge", traffic=[seg("2026-11-19T05:00:00Z", "2026-11-19T06:01:00Z")]))
    found = endpoints_by_name(scan_json(doc))["edge"]
    assert found["status"] == "active"
    assert found["invocations"] == 1


def test_idle_since_is_exact_to_the_minute() -> None:
    doc = fleet(endpoint("churn", traffic=[seg("2026-11-18T09:00:00Z", "2026-11-18T17:42:00Z", 120)]))
    assert endpoints_by_name(scan_json(doc))["churn"]["idle_since"] == "2026-11-18T17:42:00Z"


def test_idle_since_is_null_when_never_invoked() -> None:
    assert endpoints_by_name(scan_json(fleet(endpoint("never"))))["never"]["idle_since"] is None


def test_longer_lookback_turns_idle_into_active() -> None:
    doc = fleet(endpoint("weekly", traffic=[seg("2026-11-18T10:00:00Z", "2026-11-18T11:00:00Z")]))
    assert status_of(doc, "weekly", lookback_hours=24) == "idle"
    assert status_of(doc, "weekly", lookback_hours=48) == "active"


# -- components -------------------------------------------------------------------------


def test_component_traffic_makes_its_endpoint_active() -> None:
    doc = fleet(gpu_endpoint("shared", [component("ic-a", traffic=[seg("2026-11-20T00:00:00Z", "2026-11-20T01:00:00Z")])]))
    report = scan_json(doc)
    assert endpoints_by_name(report)["shared"]["status"] == "active"
    assert endpoints_by_name(report)["shared"]["invocations"] == 60


def test_endpoint_whose_components_are_all_idle_is_idle() -> None:
    doc = fleet(gpu_endpoint("shared", [component("ic-a"), component("ic-b")]))
    report = scan_json(doc)
    assert endpoints_by_name(report)["shared"]["status"] == "idle"
    assert {c["status"] for c in report["inference_components"]} == {"idle"}
    # idle $/h counts the endpoint once, not its components again
    assert report["summary"]["idle_hourly_cost_usd"] == "5.752000"


def test_endpoint_with_no_components_deployed_is_idle_at_full_price() -> None:
    report = scan_json(fleet(gpu_endpoint("empty", [])))
    found = endpoints_by_name(report)["empty"]
    assert found["status"] == "idle"
    assert found["hosts_inference_components"] is True
    assert found["hourly_cost_usd"] == "5.752000"
    assert "scale to zero" in found["suggested_action"]
    assert report["inference_components"] == []


def test_component_excluded_by_own_tag() -> None:
    doc = fleet(gpu_endpoint("shared", [component("ic-a", tags=IGNORE), component("ic-b")]))
    report = components_by_name(scan_json(doc))
    assert report["ic-a"]["status"] == "excluded"
    assert report["ic-b"]["status"] == "idle"


def test_component_excluded_by_its_endpoints_tag_even_when_active() -> None:
    doc = fleet(
        gpu_endpoint("shared", [component("ic-a", traffic=[seg("2026-11-20T00:00:00Z", "2026-11-20T01:00:00Z")])], tags=IGNORE)
    )
    assert status_of(doc, "ic-a") == "excluded"


def test_component_active_beats_new() -> None:
    doc = fleet(
        gpu_endpoint(
            "shared",
            [component("ic-a", created_at="2026-11-20T01:00:00Z", traffic=[seg("2026-11-20T02:00:00Z", "2026-11-20T03:00:00Z")])],
        )
    )
    assert status_of(doc, "ic-a") == "active"


def test_component_created_inside_window_is_new() -> None:
    doc = fleet(gpu_endpoint("shared", [component("ic-a", created_at="2026-11-20T01:00:00Z")]))
    assert status_of(doc, "ic-a") == "new"


def test_component_hourly_cost_is_copies_times_accelerators_times_gpu_price() -> None:
    doc = fleet(gpu_endpoint("shared", [component("ic-a", accelerators=1, copies=3)]))
    assert components_by_name(scan_json(doc))["ic-a"]["hourly_cost_usd"] == "4.314000"


def test_cpu_only_component_is_priced_by_reserved_cores() -> None:
    # ml.m5.xlarge: 0.23 USD/h, 4 vCPUs -> 0.0575 per core-hour; 2 cores x 2 copies
    doc = fleet(
        endpoint("cpu", instance_type="ml.m5.xlarge", components=[component("ic-cpu", accelerators=0, cores=1, copies=2)])
    )
    assert components_by_name(scan_json(doc))["ic-cpu"]["hourly_cost_usd"] == "0.115000"


def test_component_scaled_to_zero_copies_costs_nothing_per_hour() -> None:
    doc = fleet(
        gpu_endpoint(
            "shared",
            [
                component(
                    "ic-a", copies=[{"from": "2026-10-01T00:00:00Z", "count": 1}, {"from": "2026-11-19T00:00:00Z", "count": 0}]
                )
            ],
        )
    )
    found = components_by_name(scan_json(doc))["ic-a"]
    assert found["hourly_cost_usd"] == "0.000000"
    assert found["suggested_action"] is None


# -- async and serverless ---------------------------------------------------------------


def test_async_endpoint_is_active_from_processed_invocations() -> None:
    doc = fleet(
        endpoint(
            "ocr", kind="async", instance_type="ml.g4dn.xlarge", traffic=[seg("2026-11-19T22:00:00Z", "2026-11-19T23:00:00Z", 30)]
        )
    )
    found = endpoints_by_name(scan_json(doc))["ocr"]
    assert found["kind"] == "async"
    assert found["status"] == "active"
    assert found["invocations"] == 30


def test_async_endpoint_without_processing_is_idle() -> None:
    found = endpoints_by_name(scan_json(fleet(endpoint("ocr", kind="async"))))["ocr"]
    assert (found["kind"], found["status"], found["hourly_cost_usd"]) == ("async", "idle", "0.115000")


def test_serverless_endpoint_idle_costs_nothing_per_hour() -> None:
    doc = fleet(
        {
            "name": "sls",
            "created_at": "2026-10-01T00:00:00Z",
            "kind": "serverless",
            "variants": [{"name": "AllTraffic", "serverless": {"memory_mb": 2048, "max_concurrency": 5}}],
        }
    )
    found = endpoints_by_name(scan_json(doc))["sls"]
    assert (found["kind"], found["status"], found["hourly_cost_usd"], found["priced"]) == ("serverless", "idle", "0.000000", True)
    assert "serverless" in found["suggested_action"]


def test_serverless_endpoint_with_invocations_is_active() -> None:
    doc = fleet(
        {
            "name": "sls",
            "created_at": "2026-10-01T00:00:00Z",
            "kind": "serverless",
            "variants": [
                {
                    "name": "AllTraffic",
                    "serverless": {"memory_mb": 2048, "max_concurrency": 5},
                    "traffic": [seg("2026-11-20T00:00:00Z", "2026-11-20T00:10:00Z", 6)],
                }
            ],
        }
    )
    assert status_of(doc, "sls") == "active"


def test_multi_variant_endpoint_costs_every_variant() -> None:
    doc = fleet(
        {
            "name": "ab",
            "created_at": "2026-10-01T00:00:00Z",
            "variants": [
                {"name": "Blue", "instance_type": "ml.c5.xlarge", "instance_count": 2},
                {
                    "name": "Green",
                    "instance_type": "ml.c5.xlarge",
                    "instance_count": 1,
                    "traffic": [seg("2026-11-20T00:00:00Z", "2026-11-20T01:00:00Z")],
                },
            ],
        }
    )
    found = endpoints_by_name(scan_json(doc))["ab"]
    assert (found["status"], found["hourly_cost_usd"], found["instance_count"]) == ("active", "0.612000", 3)
