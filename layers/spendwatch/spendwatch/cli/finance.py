"""Finance commands: `export --format focus` and `reconcile --bill FILE`."""

from __future__ import annotations
