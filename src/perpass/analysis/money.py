"""The one money formatter: cards, the CLI, texts in the decision and the HTML report all use it.

Rules: `∞` for no value (no pass); `$0` for zero (and float noise below $0.000000001); three
significant digits below $1 (`$0.000123`, `$0.0123`), cents from $1 (`$12.35`), whole dollars with
thousands separators from $100 (`$1,235`); ties round away from zero. The report's JavaScript
(`report/assets/format.js`) implements the same rules; a browser test compares the two on the same
numbers, so a card and the report never print the same cost differently.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

NOISE = 5e-10  # below this a cost is rounding noise of a subtraction (5.55e-17), shown as $0


def _fixed(value: float, digits: int) -> str:
    """`value.toFixed(digits)` of JavaScript: the exact binary value, ties away from zero."""
    return format(Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP), "f")


def money(x: float | None) -> str:
    if x is None or math.isinf(x) or math.isnan(x):
        return "∞"
    a = abs(float(x))  # numpy scalars too: repr(np.float64) is not a plain number
    if a < NOISE:
        return "$0"
    sign = "-" if x < 0 else ""
    if a >= 100:
        return f"{sign}${int(Decimal(a).quantize(Decimal(1), rounding=ROUND_HALF_UP)):,}"
    if a >= 1:
        return f"{sign}${_fixed(a, 2)}"
    magnitude = Decimal(repr(a)).adjusted()  # floor(log10(a)) of the shortest decimal form, as JS sees it
    return f"{sign}${_fixed(a, 2 - magnitude)}"
