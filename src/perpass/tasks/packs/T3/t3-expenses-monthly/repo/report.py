"""Formatting amounts and totals."""

from model import Expense


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def total_line(expenses: list[Expense]) -> str:
    return f"total {money(sum(e.cents for e in expenses))}"
