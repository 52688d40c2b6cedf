"""The ``--fleet`` wiring: the one place in ``spendwatch`` that reaches the emulated AWS, and
only when a fleet is given (the import is deferred, so a real-account run never loads it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from spendwatch.aws.session import AwsContext
from spendwatch.core.errors import InputError


@contextmanager
def open_fleet(fleet: Path | None) -> Iterator[AwsContext]:
    """The emulated AWS seeded from ``fleet``, or from the bundled demo fleet when None."""
    try:
        import spendwatch_emulator
    except ImportError as exc:  # the emulator extra (moto) is not installed
        needs = f"needs the emulated AWS: pip install 'spendwatch[emulator]' ({exc.name} is missing)"
        raise InputError("--fleet", needs) from None
    if fleet is not None:
        with spendwatch_emulator.open_fleet(fleet) as aws:
            yield aws
        return
    with spendwatch_emulator.demo_fleet() as path, spendwatch_emulator.open_fleet(path) as aws:
        yield aws
