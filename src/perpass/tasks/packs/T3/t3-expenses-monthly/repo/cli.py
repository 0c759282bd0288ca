"""Command line for expenses."""

import argparse
import sys
from pathlib import Path

import storage
from model import Expense, parse_amount
from report import total_line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="expenses")
    parser.add_argument("--db", type=Path, default=Path("expenses.csv"))
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add")
    add.add_argument("amount")
    add.add_argument("category")
    commands.add_parser("total")
    args = parser.parse_args(argv)

    expenses = storage.load(args.db)
    if args.command == "add":
        try:
            expenses.append(Expense(cents=parse_amount(args.amount), category=args.category))
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        storage.save(args.db, expenses)
    elif args.command == "total":
        print(total_line(expenses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
