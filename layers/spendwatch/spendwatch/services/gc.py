"""Runs that load an estate and then make many small values from it (records, findings)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def long_lived() -> Iterator[None]:
    """While a run meters, what it loaded (the inventory, prices, samples) stays alive: moved
    out of the garbage collector's way (``gc.freeze``), the collections that the records'
    allocations trigger do not walk it again and again, and the run stays linear in the
    estate's size (measured by ``make bench``). No collection first: a full one per run (and
    the CLI's ``--fleet`` runs one per interval) costs more than it saves."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
