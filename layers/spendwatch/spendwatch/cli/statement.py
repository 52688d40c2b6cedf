"""The monthly statement: `statement --month --team`, an HTML page for finance."""

from __future__ import annotations
