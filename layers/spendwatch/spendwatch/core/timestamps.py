"""ISO-8601 UTC timestamps with a ``Z``, the only form spendwatch reads and writes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from spendwatch.core.errors import InputError

FIRST_YEAR, LAST_YEAR = 2000, 2199  # SageMaker did not exist before; anything later is a typo
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def parse_utc(value: str, field: str) -> datetime:
    """Parse ``2026-11-20T06:00:00Z`` (fractions allowed); anything else is an InputError."""
    if not isinstance(value, str) or not value.endswith("Z"):
        raise InputError(field, f"expected an ISO-8601 UTC timestamp ending in Z, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value[:-1] + "+00:00")
    except ValueError:
        raise InputError(field, f"not an ISO-8601 timestamp: {value!r}") from None
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise InputError(field, f"year {parsed.year} is out of range ({FIRST_YEAR}-{LAST_YEAR}): {value!r}")
    return parsed.astimezone(UTC)


def format_utc(value: datetime) -> str:
    """Format an aware datetime as ``2026-11-20T06:00:00Z`` (milliseconds only when present)."""
    value = value.astimezone(UTC)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def ensure_utc(value: datetime) -> datetime:
    """Naive datetimes from SDKs are UTC; make every datetime aware."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def floor_minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def align_down(when: datetime, minutes: int) -> datetime:
    midnight = when.replace(hour=0, minute=0, second=0, microsecond=0)
    step = timedelta(minutes=minutes)
    return midnight + (when - midnight) // step * step


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``YYYY-MM``, exactly (``2026-1`` is refused, not read as January)."""
    if not isinstance(month, str) or not re.fullmatch(r"(19|20|21)\d\d-(0[1-9]|1[0-2])", month):
        raise InputError("--month", f"expected YYYY-MM (e.g. 2026-11), got {month!r}")
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end
