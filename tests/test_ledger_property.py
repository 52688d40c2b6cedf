"""The ledger against an independent integral, over generated fleets.

Fleets with random creations, deletions, instance-count changes and enhanced-metric gaps are
metered as the hourly schedule would (one run per hour, the emulated clock at each run, the
snapshot carried between runs), then the day is settled. For every endpoint and hour, its
records plus corrections must equal instances x price over the seconds it existed in that
hour, rounded once to the micro-dollar; no record may start before creation, after deletion
or after now.

What the generator keeps within what any meter can know (and the README says): a resource
is seen by at least one run (created before some hour's end and deleted after it); without
enhanced metrics, instance counts are constant (allocation uses the counts a run sees); and
an endpoint with gaps in its enhanced samples keeps its count during them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spendwatch.aws.ledger import Ledger
from spendwatch.services.meter import meter_as_scheduled, settle_day
from spendwatch.services.prices import PriceSettings
from spendwatch_emulator import LEDGER_TABLE
from tests.conftest import emulated

NOW = datetime(2026, 11, 20, 6, tzinfo=UTC)
DAY = datetime(2026, 11, 19, tzinfo=UTC)
START = DAY  # metered from midnight, so that the settle pass can take the whole day
HOUR = timedelta(hours=1)
PRICES = {"ml.g6.12xlarge": Decimal("5.752"), "ml.m5.large": Decimal("0.115")}
RUN_TIMES = [START + HOUR * i for i in range(1, 31)]


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Truth:
    """What an endpoint really did: its lifetime and instance count over time."""

    name: str
    instance_type: str
    created: datetime
    deleted: datetime | None
    counts: list[tuple[datetime, int]]  # (from, count), in order

    def instance_seconds(self, lo: datetime, hi: datetime) -> int:
        lo, hi = max(lo, self.created), min(hi, self.deleted or hi)
        total = 0
        for index, (since, count) in enumerate(self.counts):
            until = self.counts[index + 1][0] if index + 1 < len(self.counts) else hi
            a, b = max(lo, since), min(hi, until)
            if a < b:
                total += count * int((b - a).total_seconds())
        return total

    def cost(self, lo: datetime, hi: datetime) -> Decimal:
        with localcontext() as ctx:
            ctx.prec = 60
            return (Decimal(self.instance_seconds(lo, hi)) * PRICES[self.instance_type] / 3600).quantize(Decimal("0.000001"))


minutes = st.integers(min_value=1, max_value=59)


@st.composite
def lifetime(draw: Any, earliest: datetime) -> tuple[datetime, datetime | None]:
    """Created before some run, and if deleted, after that run."""
    seen = draw(st.sampled_from([r for r in RUN_TIMES[:-1] if r > earliest + timedelta(minutes=2)] or RUN_TIMES[-2:-1]))
    created = max(earliest + timedelta(minutes=1), seen - timedelta(minutes=draw(st.integers(1, 300))))
    deleted = None
    if draw(st.booleans()):
        deleted = min(NOW, seen + timedelta(minutes=draw(st.integers(1, 600))))
    return created, deleted


@st.composite
def endpoints(draw: Any, index: int) -> tuple[dict[str, Any], Truth]:
    name = f"ep-{index}"
    created, deleted = draw(lifetime(START - timedelta(hours=4)))
    hosts = draw(st.booleans())
    enhanced = hosts and draw(st.booleans())
    instance_type = "ml.g6.12xlarge" if hosts else "ml.m5.large"
    count = draw(st.integers(1, 2))
    counts: list[tuple[datetime, int]] = [(created, count)]
    metrics: dict[str, Any] = {"enhanced": enhanced, "publish_frequency_s": draw(st.sampled_from([10, 30, 60]))}
    if enhanced and draw(st.booleans()):  # scaling, seen by the enhanced samples
        for _ in range(draw(st.integers(1, 3))):
            at = created + timedelta(minutes=draw(st.integers(5, 28 * 60)))
            if at < (deleted or NOW) and at > counts[-1][0]:
                counts.append((at, draw(st.integers(1, 3))))
    elif enhanced and draw(st.booleans()):  # samples lost for a while
        gap_start = START + timedelta(minutes=draw(st.integers(0, 29 * 60)))
        metrics["gaps"] = [{"from": iso(gap_start), "to": iso(gap_start + timedelta(minutes=draw(minutes)))}]
    variant: dict[str, Any] = {
        "name": "AllTraffic",
        "instance_type": instance_type,
        "instance_count": [{"from": iso(a), "count": c} for a, c in counts] if len(counts) > 1 else count,
    }
    if hosts:
        components = []
        for c in range(draw(st.integers(0, 2))):
            spec: dict[str, Any] = {"name": f"{name}-ic{c}", "accelerators_per_copy": 1, "cpu_cores_per_copy": 4, "copies": 1}
            ic_created, ic_deleted = draw(lifetime(created))
            ends = min(d for d in (ic_deleted, deleted, NOW) if d is not None)
            if not any(ic_created <= run < ends for run in RUN_TIMES):
                continue  # no run would ever see it (and it may not outlive its endpoint's creation)
            spec["created_at"] = iso(ic_created)
            if ic_deleted is not None and (deleted is None or ic_deleted < deleted):
                spec["deleted_at"] = iso(ic_deleted)
            components.append(spec)
        variant["inference_components"] = components
    doc: dict[str, Any] = {"name": name, "created_at": iso(created), "metrics": metrics, "variants": [variant]}
    if deleted is not None:
        doc["deleted_at"] = iso(deleted)
    return doc, Truth(name, instance_type, created, deleted, counts)


@st.composite
def fleets(draw: Any) -> tuple[dict[str, Any], list[Truth]]:
    drawn = [draw(endpoints(i)) for i in range(draw(st.integers(1, 3)))]
    doc = {
        "spec_version": 1,
        "now": iso(NOW),
        "history_hours": 36,
        "prices_usd_per_hour": {k: str(v) for k, v in PRICES.items()},
        "endpoints": [d for d, _ in drawn],
    }
    return doc, [t for _, t in drawn]


EXAMPLES = int(os.environ.get("SPENDWATCH_PROPERTY_EXAMPLES", "12"))  # more for a deeper look; 12 keep make test short


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(fleets())
def test_records_and_corrections_equal_the_integral_of_instances_times_price(case: tuple[dict[str, Any], list[Truth]]) -> None:
    doc, truths = case
    with emulated(doc) as aws:
        ledger = Ledger(aws.client("dynamodb"), LEDGER_TABLE, aws.retry)
        meter_as_scheduled(aws, ledger, START, NOW, 60, PriceSettings())
        settle_day(aws, ledger, DAY, 60, PriceSettings())
        again = settle_day(aws, ledger, DAY, 60, PriceSettings())
        records = list(ledger.records(aws.region, START, NOW))
    assert again.corrections == []
    assert again.added == []
    for truth in truths:
        mine = [r for r in records if r.endpoint_name == truth.name]
        for r in mine:
            assert r.interval_end > truth.created, (truth, r)
            assert truth.deleted is None or r.interval_start < truth.deleted, (truth, r)
            assert r.interval_end <= NOW
        for hour in (START + HOUR * i for i in range(30)):
            charged = sum((r.cost_usd for r in mine if r.interval_start == hour), Decimal(0))
            assert charged == truth.cost(hour, hour + HOUR), (truth, hour, [r for r in mine if r.interval_start == hour])
