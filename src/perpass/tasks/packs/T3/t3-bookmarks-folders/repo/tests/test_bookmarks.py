from pathlib import Path

import pytest

from cli import main


def test_add_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "b.json")
    main(["--db", db, "add", "https://a.example", "A"])
    main(["--db", db, "add", "http://b.example/x?y=1", "B site"])
    capsys.readouterr()
    main(["--db", db, "list"])
    assert capsys.readouterr().out.splitlines() == ["A <https://a.example>", "B site <http://b.example/x?y=1>"]
