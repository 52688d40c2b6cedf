"""The ``spendwatch`` command line: commands (``commands``), their tables (``render``) and the
``--fleet`` wiring (``fleet``). Not part of the Lambda code path."""

from spendwatch.cli.commands import cli, main

__all__ = ["cli", "main"]
