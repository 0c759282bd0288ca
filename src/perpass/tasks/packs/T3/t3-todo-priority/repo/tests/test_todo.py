from pathlib import Path

import pytest

from cli import main
from model import Todo


def test_add_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "t.json"
    assert main(["--db", str(db), "add", "buy milk"]) == 0
    assert main(["--db", str(db), "add", "call mum"]) == 0
    assert main(["--db", str(db), "done", "1"]) == 0
    capsys.readouterr()
    assert main(["--db", str(db), "list"]) == 0
    assert capsys.readouterr().out.splitlines() == ["[x] 1 buy milk", "[ ] 2 call mum"]


def test_done_unknown(tmp_path: Path) -> None:
    assert main(["--db", str(tmp_path / "t.json"), "done", "7"]) == 1


def test_empty_title() -> None:
    with pytest.raises(ValueError):
        Todo(id=1, title=" ")
