"""Money is Decimal with two places, rounded half-up like a statement."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def q(value: Decimal | int | str) -> Decimal:
    """`value` in dollars and cents."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
