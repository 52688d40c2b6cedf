"""The emulated AWS behind ``--fleet``: moto seeded from a fleet spec, plus what moto lacks.

A package of its own beside ``spendwatch``: the tests, the demo, the benchmarks and the CLI's
``--fleet`` wiring use it; production code never imports it, and the Lambda layer does not
contain it. It needs the ``emulator`` extra (moto).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from spendwatch.aws.retry import NO_WAIT_RETRY
from spendwatch.aws.session import AwsContext, Emulated
from spendwatch_emulator.emulator import LEDGER_TABLE, EmulatedAws
from spendwatch_emulator.fleet import Fleet, load_fleet

__all__ = ["LEDGER_TABLE", "EmulatedAws", "Fleet", "demo_fleet", "load_fleet", "open_fleet"]


@contextmanager
def open_fleet(fleet: str | Path | Fleet, **options: Any) -> Iterator[AwsContext]:
    """An ``AwsContext`` on the emulated AWS seeded from ``fleet``, in its central account and
    region. Its clock is the fleet's ``now``; ``aws.emulator.set_clock(when)`` moves the
    emulated AWS's (the context's ``now`` is the caller's to move). ``options`` are
    ``EmulatedAws``'s: ``page_datapoints``, ``lost_replies``, ``spared``, ``denied_accounts``,
    ``tagging_covers_components``, ``latency_s``."""
    spec = fleet if isinstance(fleet, Fleet) else load_fleet(fleet)
    with EmulatedAws(spec, **options) as emulator:
        assert emulator.session is not None
        handle = Emulated(
            account_id=spec.account_id,
            history_start=spec.history_start,
            history_hours=spec.history_hours,
            prices_usd_per_hour=dict(spec.central_prices_usd_per_hour),
            endpoint_count=sum(len(estate.endpoints) for estate in spec.estates),
            table_name=LEDGER_TABLE,
            calls=emulator.calls,
            set_clock=emulator.set_clock,
            estates=tuple(estate.key for estate in spec.estates),
            prices_by_estate={estate.key: dict(estate.prices_usd_per_hour) for estate in spec.estates},
            attach=emulator.attach,
            calls_by_estate=emulator.calls_by_estate,
        )
        yield AwsContext(spec.region, spec.now, emulator.session, NO_WAIT_RETRY, 1, None, handle)


@contextmanager
def demo_fleet() -> Iterator[Path]:
    """The bundled demo fleet, as a file."""
    with resources.as_file(resources.files("spendwatch_emulator") / "data" / "demo-fleet.json") as path:
        yield path
