import datetime
from pathlib import Path

import pytest

from cli import main


def out(db: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    capsys.readouterr()
    assert main(["--db", str(db), *args]) == 0
    return capsys.readouterr().out.splitlines()


def fill(db: Path) -> None:
    for amount, category, day in [("12.50", "food", "2024-05-03"), ("5.25", "food", "2024-05-31"),
                                  ("30", "books", "2024-05-10"), ("99", "food", "2024-06-01"),
                                  ("1.05", "bus", "2023-05-07")]:
        assert main(["--db", str(db), "add", amount, category, "--date", day]) == 0


def test_monthly_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "e.csv"
    fill(db)
    assert out(db, capsys, "summary", "--month", "2024-05") == ["books 30.00", "food 17.75", "total 47.75"]
    assert out(db, capsys, "summary", "--month", "2024-07") == ["total 0.00"]
    assert out(db, capsys, "total") == ["total 147.80"]


def test_default_date_is_today(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "e.csv"
    assert main(["--db", str(db), "add", "2", "tea"]) == 0
    month = datetime.date.today().strftime("%Y-%m")
    assert out(db, capsys, "summary", "--month", month) == ["tea 2.00", "total 2.00"]


def test_invalid_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "e.csv"
    capsys.readouterr()
    assert main(["--db", str(db), "add", "2", "tea", "--date", "2024-02-30"]) == 1
    assert capsys.readouterr().err.strip()
    assert out(db, capsys, "total") == ["total 0.00"]


def test_old_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "old.csv"
    db.write_text("cents,category\n500,food\n")
    assert main(["--db", str(db), "add", "1", "food", "--date", "2024-01-02"]) == 0
    assert out(db, capsys, "summary", "--month", "2024-01") == ["food 1.00", "total 1.00"]
    assert out(db, capsys, "total") == ["total 6.00"]
