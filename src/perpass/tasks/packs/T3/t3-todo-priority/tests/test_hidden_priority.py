import json
from pathlib import Path

import pytest

from cli import main
from model import Todo


def run(db: Path, *args: str) -> int:
    return main(["--db", str(db), *args])


def listing(db: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    assert run(db, "list") == 0
    return capsys.readouterr().out.splitlines()


def test_sorted_by_priority_then_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "t.json"
    assert run(db, "add", "water plants", "--priority", "low") == 0
    assert run(db, "add", "pay rent", "--priority", "high") == 0
    assert run(db, "add", "read book") == 0
    assert run(db, "add", "fix bike", "--priority", "high") == 0
    assert listing(db, capsys) == ["[ ] 2 pay rent [high]", "[ ] 4 fix bike [high]", "[ ] 3 read book",
                                   "[ ] 1 water plants [low]"]


def test_prioritize_persists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "t.json"
    run(db, "add", "a")
    run(db, "add", "b")
    assert run(db, "prioritize", "1", "low") == 0
    assert run(db, "done", "2") == 0
    assert listing(db, capsys) == ["[x] 2 b", "[ ] 1 a [low]"]
    assert run(db, "prioritize", "9", "high") == 1


def test_old_files_load_as_normal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "old.json"
    db.write_text(json.dumps([{"id": 1, "title": "old one", "done": False}]))
    run(db, "add", "new one", "--priority", "high")
    assert listing(db, capsys) == ["[ ] 2 new one [high]", "[ ] 1 old one"]


def test_bad_priority() -> None:
    with pytest.raises(ValueError):
        Todo(id=1, title="x", priority="urgent")
    assert Todo(id=1, title="x").priority == "normal"
