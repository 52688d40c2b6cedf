"""Acting on findings: `act`, `restore` and `advise`."""

from __future__ import annotations
