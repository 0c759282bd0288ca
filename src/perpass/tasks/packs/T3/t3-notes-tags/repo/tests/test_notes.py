from pathlib import Path

import pytest

from cli import main


def test_add_list_delete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "n.json")
    main(["--db", db, "add", "first"])
    main(["--db", db, "add", "second"])
    assert main(["--db", db, "delete", "1"]) == 0
    main(["--db", db, "add", "third"])
    capsys.readouterr()
    main(["--db", db, "list"])
    assert capsys.readouterr().out.splitlines() == ["2: second", "3: third"]


def test_delete_missing(tmp_path: Path) -> None:
    assert main(["--db", str(tmp_path / "n.json"), "delete", "4"]) == 1
