"""The inventory adapter: every page, every status, each endpoint understood for what it is."""

from __future__ import annotations

from spendwatch.aws.sagemaker import SageMakerInventory
from spendwatch.core.inventory import EndpointKind
from tests.conftest import emulated
from tests.fleets import component, endpoint, fleet, gpu_endpoint


def collect(aws, **kwargs):  # type: ignore[no-untyped-def]
    return SageMakerInventory(aws.client("sagemaker"), aws.retry, workers=1, **kwargs).collect(aws.region)


def test_more_than_ten_endpoints_are_all_seen() -> None:
    # ListEndpoints returns 10 by default: the seed script's blind spot.
    with emulated(fleet(*(endpoint(f"ep-{i:02d}") for i in range(13)))) as aws:
        inventory = collect(aws)
        assert len(inventory.endpoints) == 13
        assert aws.emulator.calls["ListEndpoints"] == 1  # MaxResults 100: one page


def test_more_than_a_hundred_endpoints_and_components_are_paged() -> None:
    endpoints = [gpu_endpoint(f"shared-{i:03d}", [component(f"ic-{i:03d}-a"), component(f"ic-{i:03d}-b")]) for i in range(60)] + [
        endpoint(f"classic-{i:03d}") for i in range(60)
    ]
    with emulated(fleet(*endpoints)) as aws:
        inventory = collect(aws)
        assert len(inventory.endpoints) == 120
        assert len(inventory.components) == 120
        assert aws.emulator.calls["ListEndpoints"] == 2
        assert aws.emulator.calls["ListInferenceComponents"] == 2


def test_every_status_is_listed() -> None:
    statuses = ["InService", "Creating", "Updating", "Failed", "OutOfService"]
    with emulated(fleet(*(endpoint(f"ep-{s.lower()}", status=s) for s in statuses))) as aws:
        assert {e.status for e in collect(aws).endpoints} == set(statuses)


def test_endpoint_config_is_fetched_once_per_name_across_runs() -> None:
    cache: dict = {}
    with emulated(fleet(endpoint("a"), endpoint("b"))) as aws:
        collect(aws, config_cache=cache)
        collect(aws, config_cache=cache)
        assert aws.emulator.calls["DescribeEndpointConfig"] == 2


def test_kinds_instance_types_counts_and_metrics_config() -> None:
    doc = fleet(
        gpu_endpoint(
            "shared",
            [component("ic-a", accelerators=2, cores=8, copies=2)],
            metrics={"enhanced": True, "publish_frequency_s": 10},
        ),
        endpoint(
            "ocr",
            kind="async",
            instance_type="ml.g4dn.xlarge",
            count=[{"from": "2026-10-01T00:00:00Z", "count": 3}, {"from": "2026-11-20T00:00:00Z", "count": 2}],
        ),
        {
            "name": "sls",
            "created_at": "2026-10-01T00:00:00Z",
            "kind": "serverless",
            "variants": [{"name": "AllTraffic", "serverless": {"memory_mb": 3072, "max_concurrency": 7}}],
        },
        gpu_endpoint("empty", []),
    )
    with emulated(doc) as aws:
        inventory = collect(aws)
    shared, ocr, sls, empty = (inventory.endpoint(n) for n in ("shared", "ocr", "sls", "empty"))
    assert (shared.kind, shared.metrics.enhanced, shared.metrics.publish_frequency_s) == (EndpointKind.REAL_TIME, True, 10)
    assert shared.variants[0].instance_type == "ml.g6.12xlarge"
    assert shared.hosts_components
    assert (ocr.kind, ocr.variants[0].instance_count, ocr.hosts_components) == (EndpointKind.ASYNC, 2, False)
    assert (sls.kind, sls.variants[0].instance_type, sls.variants[0].serverless_memory_mb) == (
        EndpointKind.SERVERLESS,
        None,
        3072,
    )
    assert empty.hosts_components  # no ModelName on the variant, nothing deployed yet
    (ic,) = inventory.components
    assert (ic.accelerators_per_copy, ic.cpu_cores_per_copy, ic.copies, ic.variant_name) == (2.0, 8.0, 2, "AllTraffic")


def test_tags_of_endpoints_and_components() -> None:
    doc = fleet(gpu_endpoint("shared", [component("ic-a", tags={"team": "docs"})], tags={"team": "search", "project": "x"}))
    with emulated(doc) as aws:
        inventory = collect(aws)
    assert inventory.endpoint("shared").tags == {"team": "search", "project": "x"}
    assert inventory.components[0].tags == {"team": "docs"}
