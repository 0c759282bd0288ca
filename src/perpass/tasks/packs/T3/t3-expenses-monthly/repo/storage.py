"""Expenses are kept in a CSV file with a header line."""

import csv
from pathlib import Path

from model import Expense

FIELDS = ["cents", "category"]


def load(path: Path) -> list[Expense]:
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return [Expense(cents=int(row["cents"]), category=row["category"]) for row in csv.DictReader(handle)]


def save(path: Path, expenses: list[Expense]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        for e in expenses:
            writer.writerow({"cents": e.cents, "category": e.category})
