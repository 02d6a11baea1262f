"""Money for people: one rule for every amount the ledger shows, from micro-dollars to thousands of dollars.

Amounts are integer micro-dollars (µ$) everywhere in the ledger; only display rounds. The unit follows the size:
- $1 and up: dollars with cents and thousands separators ("$1,234.50");
- from 1 m$ (a thousandth of a dollar) to under $1: milli-dollars, three significant digits ("45.6 m$");
- under 1 m$: micro-dollars, whole ones exact ("7 µ$"), fractions (averages) to three significant digits.
A non-zero amount never reads as zero. The browser's copy of this rule is dashboard/static/money.js; a test
checks the two agree.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

MICRO_PER_MILLI = 1_000
MICRO_PER_DOLLAR = 1_000_000
MICRO_PER_CENT = 10_000
SIGNIFICANT_DIGITS = 3


def _round_significant(value: float) -> Decimal:
    """`value` (> 0) rounded half up to three significant digits, from its exact binary value (as JS does)."""
    exact = Decimal(value)
    return exact.quantize(Decimal(1).scaleb(exact.adjusted() - SIGNIFICANT_DIGITS + 1), rounding=ROUND_HALF_UP)


def _plain(value: Decimal) -> str:
    """A rounded value without trailing zeros or exponent: "45.6", "120", "0.000123"."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_micro_usd(micro: float) -> str:
    """An amount of micro-dollars in the unit that fits it: "$1,234.50", "45.6 m$", "7 µ$", "$0"."""
    if micro == 0:
        return "$0"
    sign = "-" if micro < 0 else ""
    size = abs(micro)
    milli = _round_significant(size / MICRO_PER_MILLI)
    if milli >= MICRO_PER_MILLI:  # 999,999.6 µ$ reads as $1.00, not "1,000 m$"
        cents = math.floor(size / MICRO_PER_CENT + 0.5)
        return f"{sign}${cents // 100:,}.{cents % 100:02d}"
    if milli >= 1:
        return f"{sign}{_plain(milli)} m$"
    return f"{sign}{_plain(_round_significant(size))} µ$"


def format_exact_micro_usd(micro: int) -> str:
    """The exact amount, for tooltips: "1,234,567 µ$"."""
    return f"{micro:,} µ$"
