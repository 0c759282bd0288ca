"""An expense, in integer cents."""

from dataclasses import dataclass


def parse_amount(text: str) -> int:
    """'12.5' -> 1250 cents."""
    euros, _, cents = text.strip().partition(".")
    if not euros.isdigit() or (cents and (not cents.isdigit() or len(cents) > 2)):
        raise ValueError(f"not an amount: {text!r}")
    return int(euros) * 100 + int(cents.ljust(2, "0") or 0)


@dataclass
class Expense:
    cents: int
    category: str
