"""The daily settle pass (pure): yesterday's ledger against a fresh meter of final data.

Records are written once and never rewritten. Where the final figure of a (resource,
interval) differs from what the ledger holds (the original plus earlier corrections), a
correction record carrying the difference is appended; its cost moves the rollups by the
same difference. After settling, the ledger's sum for every resource and interval equals
the fresh meter exactly, and settling again appends nothing.

Per endpoint variant and interval, the final figures are:

* the fresh meter's, when it measured the variant's instances with enhanced metrics (late
  samples arrived, or a price changed), or when the ledger has nothing for it yet;
* otherwise (allocation, by counts the meter saw when it ran) the ledger's own quantities,
  re-priced if the price changed, since today's counts say nothing about yesterday's.

The conservation rule holds for corrected figures too: components plus unallocated equal the
instances' cost, because each target group is a whole metered (or re-priced) group.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal, localcontext

from spendwatch.core.metering import QUANTUM, Basis, CostRecord, RecordKind, largest_remainder

Group = tuple[datetime, str, str]  # interval start, endpoint, variant
INSTANCE_KINDS = (RecordKind.UNALLOCATED, RecordKind.ENDPOINT)


def _group(record: CostRecord) -> Group:
    return (record.interval_start, record.endpoint_name, record.variant_name)


def net(records: Iterable[CostRecord]) -> dict[str, tuple[CostRecord, int]]:
    """Per resource: its original record with every correction folded in, and the number of
    corrections so far."""
    out: dict[str, tuple[CostRecord, int]] = {}
    for record in sorted(records, key=lambda r: r.correction):
        if record.resource not in out:
            out[record.resource] = (replace(record, correction=0), record.correction)
            continue
        total, _ = out[record.resource]
        out[record.resource] = (
            replace(
                record,
                correction=0,
                gpu_seconds=total.gpu_seconds + record.gpu_seconds,
                core_seconds=total.core_seconds + record.core_seconds,
                instance_seconds=total.instance_seconds + record.instance_seconds,
                cost_usd=total.cost_usd + record.cost_usd,
                tags=total.tags,
            ),
            record.correction,
        )
    return out


def reprice(group: list[CostRecord], price: Decimal, source: str) -> list[CostRecord]:
    """A group's figures at another price per hour: the instances' cost rounded once, then
    divided among the records in proportion to what they held."""
    instance = next((r for r in group if r.kind in INSTANCE_KINDS), None)
    if instance is None:
        return group
    with localcontext() as ctx:
        ctx.prec = 60
        total = (instance.instance_seconds * price / 3600).quantize(QUANTUM)
    shares = [r.cost_usd for r in group]
    costs = largest_remainder(shares, total) if sum(shares, Decimal(0)) else [Decimal(0)] * (len(group) - 1) + [total]
    return [replace(r, cost_usd=c, price_usd_per_hour=price, price_source=source) for r, c in zip(group, costs, strict=True)]


def _instance_basis(group: Iterable[CostRecord]) -> Basis | None:
    return next((r.basis for r in group if r.kind in INSTANCE_KINDS), None)


def _price(group: list[CostRecord]) -> Decimal:
    return group[0].price_usd_per_hour


def corrections(ledger: Iterable[CostRecord], fresh: Iterable[CostRecord]) -> list[CostRecord]:
    """What to append so that the ledger's records of the same intervals say what ``fresh`` says."""
    held: dict[Group, list[CostRecord]] = defaultdict(list)
    for record in ledger:
        held[_group(record)].append(record)
    measured: dict[Group, list[CostRecord]] = defaultdict(list)
    for record in fresh:
        measured[_group(record)].append(record)
    out: list[CostRecord] = []
    for key in sorted(set(held) | set(measured)):
        old = net(held.get(key, []))
        new = measured.get(key, [])
        old_group = [r for r, _ in old.values()]
        if not old_group or _instance_basis(new) is Basis.METRICS:
            target = new
        elif new and _instance_basis(old_group) is Basis.ALLOCATION and _price(new) != _price(old_group):
            target = reprice(old_group, new[0].price_usd_per_hour, new[0].price_source)
        else:
            continue  # allocation stands as metered: today's counts say nothing of yesterday's
        wanted = {r.resource: r for r in target}
        for resource in sorted(set(wanted) | set(old)):
            after = wanted.get(resource)
            before, done = old.get(resource, (None, 0))
            if before is None and after is not None:
                out.append(after)  # a charge the ledger lacked: an original record
                continue
            assert before is not None
            goal = after or replace(
                before, gpu_seconds=Decimal(0), core_seconds=Decimal(0), instance_seconds=Decimal(0), cost_usd=Decimal(0)
            )
            delta = replace(
                goal,
                gpu_seconds=goal.gpu_seconds - before.gpu_seconds,
                core_seconds=goal.core_seconds - before.core_seconds,
                instance_seconds=goal.instance_seconds - before.instance_seconds,
                cost_usd=goal.cost_usd - before.cost_usd,
                tags=before.tags,  # a correction is booked where the original was
                correction=done + 1,
            )
            if any((delta.cost_usd, delta.gpu_seconds, delta.core_seconds, delta.instance_seconds)):
                out.append(delta)
    return out
