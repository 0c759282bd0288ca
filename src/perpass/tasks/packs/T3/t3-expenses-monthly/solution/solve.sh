set -e
cat >> model.py <<'PY'


def parse_date(text: str) -> "datetime.date":
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD): {text!r}") from None
PY
python - <<'PY'
from pathlib import Path
model = Path("model.py")
text = model.read_text()
text = text.replace('from dataclasses import dataclass\n', 'import datetime\nfrom dataclasses import dataclass\n')
text = text.replace("    cents: int\n    category: str\n", "    cents: int\n    category: str\n    date: datetime.date | None = None\n")
model.write_text(text)

storage = Path("storage.py")
text = storage.read_text()
text = text.replace('import csv\n', 'import csv\nimport datetime\n')
text = text.replace('FIELDS = ["cents", "category"]', 'FIELDS = ["cents", "category", "date"]')
text = text.replace('Expense(cents=int(row["cents"]), category=row["category"])',
                    'Expense(cents=int(row["cents"]), category=row["category"],\n'
                    '                        date=datetime.date.fromisoformat(row["date"]) if row.get("date") else None)')
text = text.replace('writer.writerow({"cents": e.cents, "category": e.category})',
                    'writer.writerow({"cents": e.cents, "category": e.category,\n'
                    '                             "date": e.date.isoformat() if e.date else ""})')
storage.write_text(text)
PY
cat >> report.py <<'PY'


def monthly_summary(expenses: list[Expense], month: str) -> str:
    """Per-category totals of the expenses dated in `month` (YYYY-MM), then the month's total."""
    in_month = [e for e in expenses if e.date is not None and e.date.strftime("%Y-%m") == month]
    by_category: dict[str, int] = {}
    for e in in_month:
        by_category[e.category] = by_category.get(e.category, 0) + e.cents
    lines = [f"{category} {money(cents)}" for category, cents in sorted(by_category.items())]
    return "\n".join(lines + [total_line(in_month)])
PY
python - <<'PY'
from pathlib import Path
cli = Path("cli.py")
text = cli.read_text()
text = text.replace("import argparse\n", "import argparse\nimport datetime\n")
text = text.replace("from model import Expense, parse_amount", "from model import Expense, parse_amount, parse_date")
text = text.replace("from report import total_line", "from report import monthly_summary, total_line")
text = text.replace('    add.add_argument("category")\n    commands.add_parser("total")\n',
                    '    add.add_argument("category")\n    add.add_argument("--date")\n    commands.add_parser("total")\n'
                    '    commands.add_parser("summary").add_argument("--month", required=True)\n')
text = text.replace("expenses.append(Expense(cents=parse_amount(args.amount), category=args.category))",
                    "day = parse_date(args.date) if args.date else datetime.date.today()\n"
                    "            expenses.append(Expense(cents=parse_amount(args.amount), category=args.category, date=day))")
text = text.replace('    elif args.command == "total":\n',
                    '    elif args.command == "summary":\n'
                    '        print(monthly_summary(expenses, args.month))\n'
                    '    elif args.command == "total":\n')
cli.write_text(text)
PY
cat > tests/test_monthly.py <<'PY'
from pathlib import Path

import pytest

from cli import main


def test_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "e.csv")
    main(["--db", db, "add", "1.50", "tea", "--date", "2024-03-04"])
    capsys.readouterr()
    main(["--db", db, "summary", "--month", "2024-03"])
    assert capsys.readouterr().out.splitlines() == ["tea 1.50", "total 1.50"]
PY
python -m pytest -q tests
