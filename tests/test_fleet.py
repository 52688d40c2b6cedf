"""The fleet spec: given a fleet document, when it is loaded, then it parses into a Fleet,
or the InputError names the field at fault; timelines hold each step until the next."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from spendwatch.core.errors import InputError
from spendwatch_emulator.emulator import EmulatedAws
from spendwatch_emulator.fleet import (
    Fleet,
    Lifetime,
    Timeline,
    component_lifetime,
    copies_timeline,
    endpoint_lifetime,
    instance_timeline,
    load_fleet,
    parse_fleet,
)
from tests.conftest import TINY_FLEET, emulated
from tests.fleets import LONG_AGO, component, endpoint, fleet, gpu_endpoint, seg


def _error(doc: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        parse_fleet(doc)
    return caught.value


def _entering_fails(doc: dict[str, Any]) -> InputError:
    """Enter the emulated AWS of ``doc``, expecting the InputError; always clean up.

    ``EmulatedAws`` is used directly (``emulated(doc)`` hides it) only so the moto mock can be
    stopped afterwards: a failed ``__enter__`` leaves it running (see test_emulator.py).
    """
    emulator = EmulatedAws(parse_fleet(doc))
    try:
        with pytest.raises(InputError) as caught, emulator:
            pass
    finally:
        emulator.__exit__(None, None, None)
    return caught.value


# -- fleets that parse ---------------------------------------------------------------------


def test_the_repos_tiny_fleet_loads() -> None:
    tiny = load_fleet(TINY_FLEET)

    assert isinstance(tiny, Fleet)
    assert tiny.now == datetime(2026, 11, 20, 6, tzinfo=UTC)
    assert [e.name for e in tiny.endpoints] == ["genai-shared", "churn-model"]
    assert tiny.prices_usd_per_hour == {"ml.g6.12xlarge": Decimal("5.752"), "ml.m5.large": Decimal("0.115")}
    shared = tiny.endpoints[0]
    assert shared.metrics.enhanced is True
    assert shared.metrics.publish_frequency_s == 10
    assert [c.name for c in shared.variants[0].inference_components or []] == ["ic-chat", "ic-summarize"]


def test_the_bundled_demo_fleet_loads() -> None:
    with resources.as_file(resources.files("spendwatch_emulator") / "data" / "demo-fleet.json") as path:
        demo = load_fleet(path)

    assert len(demo.endpoints) >= 5
    assert {e.kind for e in demo.endpoints} == {"real-time", "async", "serverless"}
    assert any(v.inference_components for e in demo.endpoints for v in e.variants)


def test_a_minimal_fleet_takes_the_documented_defaults() -> None:
    parsed = parse_fleet(fleet(endpoint("plain")))

    assert parsed.region == "us-east-1"
    assert parsed.account_id == "123456789012"
    assert parsed.gpu_dimension == "GpuId"
    assert parsed.faults is None
    only = parsed.endpoints[0]
    assert (only.status, only.kind, only.metrics.enhanced, only.metrics.publish_frequency_s) == (
        "InService",
        "real-time",
        False,
        60,
    )


# -- fleets that do not parse: the error names the field -----------------------------------


def _without_spec_version() -> dict[str, Any]:
    doc = fleet(endpoint("a"))
    del doc["spec_version"]
    return doc


@pytest.mark.parametrize(
    ("doc", "path", "says"),
    [
        pytest.param(
            fleet(endpoint("a", count=[{"from": "2026-11-19T00:00:00Z", "count": 1}, {"from": "yesterday", "count": 2}])),
            "endpoints[0].variants[0].instance_count[1].from",
            "timestamp",
            id="bad-timestamp-in-a-timeline",
        ),
        pytest.param(
            fleet(endpoint("a", count=[{"from": "2026-11-19T00:00:00", "count": 1}])),
            "endpoints[0].variants[0].instance_count[0].from",
            "ending in Z",
            id="timestamp-without-z",
        ),
        pytest.param(
            fleet(endpoint("a"), endpoint("b", colour="blue")),
            "endpoints[1].colour",
            "unknown field",
            id="unknown-field",
        ),
        pytest.param(_without_spec_version(), "spec_version", "required", id="missing-spec-version"),
        pytest.param(fleet(endpoint("a"), spec_version=2), "spec_version", "1", id="wrong-spec-version"),
        pytest.param(
            fleet(endpoint("a"), prices_usd_per_hour={"ml.m5.large": 0.115}),
            "prices_usd_per_hour",
            "ml.m5.large",
            id="float-price",
        ),
        pytest.param(
            fleet(endpoint("a"), prices_usd_per_hour={"ml.m5.large": "-1"}),
            "prices_usd_per_hour",
            "non-negative",
            id="negative-price",
        ),
        pytest.param(
            fleet(endpoint("a", metrics={"enhanced": True, "publish_frequency_s": 15})),
            "endpoints[0].metrics.publish_frequency_s",
            "must be one of",
            id="publish-frequency-15",
        ),
        pytest.param(
            fleet(endpoint("a", traffic=[seg("2026-11-19T02:00:00Z", "2026-11-19T02:00:00Z")])),
            "endpoints[0].variants[0].traffic[0]",
            "'to' must be after 'from'",
            id="empty-segment",
        ),
        pytest.param(
            fleet(endpoint("a", traffic=[seg("2026-11-19T03:00:00Z", "2026-11-19T02:00:00Z")])),
            "endpoints[0].variants[0].traffic[0]",
            "'to' must be after 'from'",
            id="backwards-segment",
        ),
        pytest.param(
            fleet(endpoint("a", kind="serverless")),
            "endpoints[0]",
            "variants[0].serverless: required for kind serverless",
            id="serverless-without-serverless-block",
        ),
        pytest.param(
            fleet(endpoint("a", count=[])),
            "endpoints[0].variants[0].instance_count",
            "at least one step",
            id="empty-timeline",
        ),
        pytest.param(
            fleet(gpu_endpoint("a", [component("c", copies=[{"from": LONG_AGO, "count": -1}])])),
            "endpoints[0].variants[0].inference_components[0].copies[0].count",
            "greater than or equal to 0",
            id="negative-copies",
        ),
        pytest.param(
            fleet(gpu_endpoint("a", [component("c", accelerators=0, cores=0)])),
            "endpoints[0].variants[0].inference_components[0]",
            "needs accelerators_per_copy or cpu_cores_per_copy",
            id="component-without-resources",
        ),
        pytest.param(fleet(endpoint("under_score")), "endpoints[0].name", "pattern", id="bad-endpoint-name"),
        pytest.param(
            fleet(endpoint("a"), faults={"throttle_rate": 0.6, "error_rate": 0.5}),
            "faults",
            "at most 0.9",
            id="faults-too-frequent",
        ),
        pytest.param(
            fleet(endpoint("a"), endpoint("b", deleted_at="yesterday")),
            "endpoints[1].deleted_at",
            "timestamp",
            id="bad-deleted-at",
        ),
        pytest.param(
            fleet(endpoint("a", deleted_at=LONG_AGO)),
            "endpoints[0].deleted_at",
            "must be after created_at (2026-10-01T00:00:00Z)",
            id="endpoint-deleted-when-created",
        ),
        pytest.param(
            fleet(endpoint("a", created_at="2026-11-19T00:00:00Z", deleted_at="2026-11-18T00:00:00Z")),
            "endpoints[0].deleted_at",
            "must be after created_at",
            id="endpoint-deleted-before-created",
        ),
        pytest.param(
            fleet(gpu_endpoint("a", [component("c", created_at="2026-11-19T00:00:00Z", deleted_at="2026-11-18T00:00:00Z")])),
            "endpoints[0].variants[0].inference_components[0].deleted_at",
            "must be after created_at (2026-11-19T00:00:00Z)",
            id="component-deleted-before-created",
        ),
        pytest.param(
            fleet(gpu_endpoint("a", [component("c"), component("d", deleted_at=LONG_AGO)])),
            "endpoints[0].variants[0].inference_components[1].deleted_at",
            "must be after its endpoint's created_at",
            id="component-deleted-when-its-endpoint-was-created",
        ),
        pytest.param(
            fleet(gpu_endpoint("a", [component("c", created_at="2026-11-19T06:00:00Z")], deleted_at="2026-11-19T05:00:00Z")),
            "endpoints[0].variants[0].inference_components[0].created_at",
            "must not be after its endpoint's deleted_at (2026-11-19T05:00:00Z)",
            id="component-created-after-its-endpoint-was-deleted",
        ),
        pytest.param(
            fleet(
                endpoint(
                    "a", metrics={"enhanced": True, "gaps": [{"from": "2026-11-19T03:00:00Z", "to": "2026-11-19T03:00:00Z"}]}
                )
            ),
            "endpoints[0].metrics.gaps[0]",
            "'to' must be after 'from'",
            id="empty-gap",
        ),
        pytest.param(
            fleet(endpoint("a", metrics={"enhanced": True, "gaps": [{"from": "2026-11-19T03:00:00Z"}]})),
            "endpoints[0].metrics.gaps[0].to",
            "required",
            id="gap-without-to",
        ),
    ],
)
def test_an_invalid_fleet_is_an_input_error_naming_the_field(doc: dict[str, Any], path: str, says: str) -> None:
    error = _error(doc)

    assert error.field == f"fleet: {path}"
    assert str(error).startswith(f"fleet: {path}: ")
    assert says in error.message


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param(fleet(endpoint("twin"), endpoint("twin")), id="endpoints"),
        pytest.param(
            fleet(gpu_endpoint("a", [component("twin")]), gpu_endpoint("b", [component("twin")])),
            id="inference-components",
        ),
    ],
)
def test_a_name_used_twice_is_an_input_error_naming_the_name(doc: dict[str, Any]) -> None:
    error = _error(doc)

    assert "'twin' appears twice" in str(error)


def test_a_duplicate_endpoint_name_error_names_the_field_path_of_the_second_one() -> None:
    error = _error(fleet(endpoint("twin"), endpoint("other"), endpoint("twin")))

    assert "endpoints[2].name" in error.field


def test_a_document_that_is_not_an_object_is_an_input_error() -> None:
    assert _error([]).field == "fleet: (top level)"


def test_load_fleet_of_a_missing_file_names_the_fleet_flag(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"

    with pytest.raises(InputError) as caught:
        load_fleet(missing)

    assert caught.value.field == "--fleet"
    assert str(missing) in str(caught.value)


def test_load_fleet_of_invalid_json_names_the_file_and_the_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "spec_version": 1,\n  "now": ,\n  "endpoints": []\n}\n', encoding="utf-8")

    with pytest.raises(InputError) as caught:
        load_fleet(broken)

    assert caught.value.field == str(broken)
    assert "line 3" in caught.value.message


def test_load_fleet_names_the_file_in_field_errors(tmp_path: Path) -> None:
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps(fleet(endpoint("a", colour="blue"))), encoding="utf-8")

    with pytest.raises(InputError) as caught:
        load_fleet(path)

    assert caught.value.field == f"{path}: endpoints[0].colour"


# -- fleets that parse but cannot be emulated ----------------------------------------------


def test_copies_that_cannot_fit_on_the_instances_fail_naming_the_endpoint_when_the_emulator_is_entered() -> None:
    # 3 copies x 2 accelerators = 6 GPUs; one ml.g6.12xlarge has 4.
    doc = fleet(endpoint("roomy"), gpu_endpoint("crowded", [component("big", accelerators=2, copies=3)]))
    parse_fleet(doc)  # the spec itself is valid

    error = _entering_fails(doc)

    assert error.field == "endpoints[1] (crowded)"
    assert "copies do not fit" in error.message
    assert "copy 3 of big" in error.message
    assert "ml.g6.12xlarge" in error.message


def test_the_same_copies_fit_on_two_instances() -> None:
    doc = fleet(gpu_endpoint("crowded", [component("big", accelerators=2, copies=3)], count=2))

    with emulated(doc) as aws:
        described = aws.client("sagemaker").describe_inference_component(InferenceComponentName="big")

    assert described["RuntimeConfig"]["CurrentCopyCount"] == 3


# -- timelines -------------------------------------------------------------------------------


def _at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def test_a_timeline_is_zero_before_its_first_step_and_holds_each_step_until_the_next() -> None:
    timeline = Timeline([(_at(19, 12), 3), (_at(19), 1)])  # steps in any order

    assert timeline.at(_at(18)) == 0
    assert timeline.at(_at(19)) == 1
    assert timeline.at(_at(19, 11)) == 1
    assert timeline.at(_at(19, 12)) == 3
    assert timeline.at(_at(25)) == 3
    assert timeline.breakpoints() == [_at(19), _at(19, 12)]


def test_an_empty_timeline_is_zero_everywhere() -> None:
    assert Timeline([]).at(_at(19)) == 0


def test_a_plain_instance_count_holds_from_the_endpoints_creation() -> None:
    parsed = parse_fleet(fleet(endpoint("a", count=2, created_at="2026-11-19T00:00:00Z")))
    only = parsed.endpoints[0]

    timeline = instance_timeline(only, only.variants[0])

    assert timeline.at(_at(18, 23)) == 0
    assert timeline.at(_at(19)) == 2
    assert timeline.at(parsed.now) == 2


def test_a_deleted_endpoint_ends_its_components_and_its_instances_at_its_deleted_at() -> None:
    doc = fleet(
        gpu_endpoint(
            "a",
            [
                component("kept", copies=2),
                component("early", deleted_at="2026-11-19T06:00:00Z"),
                component("late", deleted_at="2026-11-21T00:00:00Z"),
            ],
            created_at="2026-11-18T00:00:00Z",
            deleted_at="2026-11-19T12:00:00Z",
        )
    )
    parsed = parse_fleet(doc)
    only = parsed.endpoints[0]
    kept, early, late = only.variants[0].inference_components or []

    assert endpoint_lifetime(only) == Lifetime(_at(18), _at(19, 12))
    assert component_lifetime(only, kept) == Lifetime(_at(18), _at(19, 12))  # no deleted_at of its own
    assert component_lifetime(only, early) == Lifetime(_at(18), _at(19, 6))
    assert component_lifetime(only, late) == Lifetime(_at(18), _at(19, 12))  # its endpoint went first
    instances = instance_timeline(only, only.variants[0])
    assert (instances.at(_at(17)), instances.at(_at(19, 11)), instances.at(_at(19, 12))) == (0, 1, 0)
    copies = copies_timeline(only, kept)
    assert (copies.at(_at(19, 11)), copies.at(_at(19, 12)), copies.at(_at(20))) == (2, 0, 0)


def test_a_component_created_when_its_endpoint_is_deleted_never_exists() -> None:
    parsed = parse_fleet(
        fleet(gpu_endpoint("a", [component("c", created_at="2026-11-19T12:00:00Z")], deleted_at="2026-11-19T12:00:00Z"))
    )
    only = parsed.endpoints[0]
    (never,) = only.variants[0].inference_components or []

    lifetime = component_lifetime(only, never)
    assert not lifetime.alive(_at(19, 12))
    assert copies_timeline(only, never).at(_at(19, 12)) == 0


@pytest.mark.parametrize("value", ["2", True, 1.5])
def test_a_count_must_be_a_whole_number_not_coerced(value: object) -> None:
    doc = {
        "spec_version": 1,
        "now": "2026-11-20T06:00:00Z",
        "endpoints": [
            {
                "name": "e",
                "created_at": "2026-10-01T00:00:00Z",
                "variants": [{"instance_type": "ml.m5.large", "instance_count": value}],
            }
        ],
    }
    with pytest.raises(InputError) as caught:
        parse_fleet(doc)
    assert "endpoints[0].variants[0].instance_count" in str(caught.value)
