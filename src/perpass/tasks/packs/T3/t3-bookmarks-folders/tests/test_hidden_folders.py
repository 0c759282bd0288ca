import json
from pathlib import Path

import pytest

from cli import main


def out(db: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(["--db", str(db), *args]) == 0
    return capsys.readouterr().out


def fill(db: Path) -> None:
    for args in (["https://r1.example", "R1", "--folder", "Reading"], ["https://u.example", "U"],
                 ["https://d.example", "Docs", "--folder", "Dev"], ["https://r2.example", "R2", "--folder", "Reading"]):
        assert main(["--db", str(db), "add", *args]) == 0


def test_markdown_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "b.json"
    fill(db)
    expected = ["## Dev", "- [Docs](https://d.example)", "", "## Reading", "- [R1](https://r1.example)",
                "- [R2](https://r2.example)", "", "## Unsorted", "- [U](https://u.example)"]
    assert out(db, capsys, "export", "--format", "markdown").strip("\n").splitlines() == expected


def test_json_export_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "b.json"
    fill(db)
    exported = json.loads(out(db, capsys, "export", "--format", "json"))
    assert exported[1] == {"url": "https://u.example", "title": "U", "folder": "Unsorted"}
    assert [b["folder"] for b in exported] == ["Reading", "Unsorted", "Dev", "Reading"]
    assert out(db, capsys, "list").splitlines()[0] == "R1 <https://r1.example>"


def test_rejects_bad_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "b.json"
    capsys.readouterr()
    assert main(["--db", str(db), "add", "ftp://x.example", "X"]) == 1
    assert capsys.readouterr().err.strip(), "the error must be explained on stderr"
    assert main(["--db", str(db), "add", "javascript:alert(1)", "Y"]) == 1
    assert main(["--db", str(db), "add", "https://ok.example", "OK"]) == 0
    assert out(db, capsys, "list").splitlines() == ["OK <https://ok.example>"]


def test_old_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "old.json"
    db.write_text(json.dumps([{"url": "https://o.example", "title": "Old"}]))
    assert out(db, capsys, "export", "--format", "markdown").strip("\n").splitlines() == [
        "## Unsorted", "- [Old](https://o.example)"]
