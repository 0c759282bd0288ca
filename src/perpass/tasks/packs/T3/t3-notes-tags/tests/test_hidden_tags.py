import json
from pathlib import Path

import pytest

from cli import main


def out(db: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    capsys.readouterr()
    assert main(["--db", str(db), *args]) == 0
    return capsys.readouterr().out.splitlines()


def fill(db: Path) -> None:
    main(["--db", str(db), "add", "buy paint", "--tag", "Home"])
    main(["--db", str(db), "add", "plain note"])
    main(["--db", str(db), "add", "call the bank", "--tag", "urgent", "--tag", "home", "--tag", "HOME"])


def test_list_shows_tags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "n.json"
    fill(db)
    assert out(db, capsys, "list") == ["1: buy paint #home", "2: plain note", "3: call the bank #home #urgent"]


def test_filter_by_tag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "n.json"
    fill(db)
    assert out(db, capsys, "list", "--tag", "URGENT") == ["3: call the bank #home #urgent"]
    assert out(db, capsys, "list", "--tag", "none") == []


def test_tag_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "n.json"
    assert out(db, capsys, "tags") == []
    fill(db)
    assert out(db, capsys, "tags") == ["home: 2", "urgent: 1"]


def test_old_file_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "old.json"
    db.write_text(json.dumps({"next_id": 2, "notes": [{"id": 1, "text": "old"}]}))
    main(["--db", str(db), "add", "new", "--tag", "x"])
    assert out(db, capsys, "list") == ["1: old", "2: new #x"]
