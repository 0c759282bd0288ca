from pathlib import Path

import pytest

from cli import main
from model import parse_amount


def test_parse_amount() -> None:
    assert parse_amount("12.5") == 1250
    assert parse_amount("3") == 300
    with pytest.raises(ValueError):
        parse_amount("1.234")


def test_add_total(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "e.csv")
    main(["--db", db, "add", "12.50", "food"])
    main(["--db", db, "add", "0.75", "bus"])
    assert main(["--db", db, "add", "abc", "bus"]) == 1
    capsys.readouterr()
    main(["--db", db, "total"])
    assert capsys.readouterr().out == "total 13.25\n"
