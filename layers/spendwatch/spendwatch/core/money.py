"""Money is Decimal from the price book to the ledger to the report.

Figures are kept exact while they are computed; they are only quantized to
``MONEY_PLACES`` decimal places when printed, and printed as strings, never floats.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

from spendwatch.core.errors import InputError

MONEY_PLACES = 6
_QUANTUM = Decimal(1).scaleb(-MONEY_PLACES)
ZERO = Decimal(0)
MAX_PLACES = 10  # a price or budget with more decimals than this is a mistake, not a price
MAX_AMOUNT = Decimal(10) ** 12


def parse_money(value: object, field: str) -> Decimal:
    """A price given as a decimal string (``"5.752"``); floats are refused, they are not exact."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputError(field, f'expected a decimal string such as "5.752", got {value!r}')
    try:
        parsed = Decimal(str(value))
    except InvalidOperation:
        raise InputError(field, f"not a decimal number: {value!r}") from None
    if not parsed.is_finite() or parsed < 0:
        raise InputError(field, f"must be a finite, non-negative amount, got {value!r}")
    if parsed >= MAX_AMOUNT:
        raise InputError(field, f"must be under {MAX_AMOUNT:,} USD, got {value!r}")
    exponent = parsed.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_PLACES:
        raise InputError(field, f"at most {MAX_PLACES} decimal places, got {value!r}")
    return parsed


def format_money(value: Decimal) -> str:
    """``Decimal("2.876")`` -> ``"2.876000"``: at least six places, half-even rounding."""
    return str(value.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN))


def display_usd(value: Decimal | None, places: int = 2) -> str:
    """Money for people: ``$1,239.66``, thousands separators, rounded half up ($0.345 is
    $0.35) for display only; ``places=3`` for hourly rates (``$0.115``). JSON and CSV keep
    :func:`format_money`'s exact strings."""
    if value is None:
        return "unpriced"
    shown = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if shown < 0 else ""
    return f"{sign}${abs(shown):,}"


def display_rate(value: Decimal | None, unit: str = "/h") -> str:
    """An hourly rate for people: ``$0.115/h`` where the third decimal is needed, ``$5.75/h``
    where it is not."""
    if value is None:
        return "unpriced"
    thousandths = value.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    return f"{display_usd(value, 3 if thousandths != thousandths.quantize(Decimal('0.01')) else 2)}{unit}"


def display_pct(value: Decimal, places: int = 1) -> str:
    """A percentage for people, rounded half up as money is (``34.45`` -> ``"34.5"``)."""
    return f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)}"
