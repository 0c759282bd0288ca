set -e
cat > model.py <<'PY'
"""A bookmark."""

from dataclasses import dataclass

DEFAULT_FOLDER = "Unsorted"


@dataclass
class Bookmark:
    url: str
    title: str
    folder: str = DEFAULT_FOLDER

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) URL: {self.url}")
PY
cat > storage.py <<'PY'
"""Bookmarks live in a JSON list."""

import json
from pathlib import Path

from model import DEFAULT_FOLDER, Bookmark


def load(path: Path) -> list[Bookmark]:
    if not path.exists():
        return []
    return [Bookmark(url=b["url"], title=b["title"], folder=b.get("folder", DEFAULT_FOLDER))
            for b in json.loads(path.read_text())]


def as_dicts(bookmarks: list[Bookmark]) -> list[dict[str, str]]:
    return [{"url": b.url, "title": b.title, "folder": b.folder} for b in bookmarks]


def save(path: Path, bookmarks: list[Bookmark]) -> None:
    path.write_text(json.dumps(as_dicts(bookmarks), indent=2))
PY
cat > formatter.py <<'PY'
"""Rendering bookmarks."""

import json

from model import Bookmark
from storage import as_dicts


def format_list(bookmarks: list[Bookmark]) -> str:
    return "\n".join(f"{b.title} <{b.url}>" for b in bookmarks)


def format_markdown(bookmarks: list[Bookmark]) -> str:
    sections = []
    for folder in sorted({b.folder for b in bookmarks}):
        lines = [f"## {folder}"] + [f"- [{b.title}]({b.url})" for b in bookmarks if b.folder == folder]
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


def format_json(bookmarks: list[Bookmark]) -> str:
    return json.dumps(as_dicts(bookmarks), indent=2)
PY
cat > cli.py <<'PY'
"""Command line for bookmarks."""

import argparse
import sys
from pathlib import Path

import storage
from formatter import format_json, format_list, format_markdown
from model import DEFAULT_FOLDER, Bookmark


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bookmarks")
    parser.add_argument("--db", type=Path, default=Path("bookmarks.json"))
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add")
    add.add_argument("url")
    add.add_argument("title")
    add.add_argument("--folder", default=DEFAULT_FOLDER)
    commands.add_parser("list")
    export = commands.add_parser("export")
    export.add_argument("--format", choices=("markdown", "json"), default="markdown")
    args = parser.parse_args(argv)

    bookmarks = storage.load(args.db)
    if args.command == "add":
        try:
            bookmarks.append(Bookmark(url=args.url, title=args.title, folder=args.folder))
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        storage.save(args.db, bookmarks)
    elif args.command == "list":
        if bookmarks:
            print(format_list(bookmarks))
    elif args.command == "export":
        print(format_markdown(bookmarks) if args.format == "markdown" else format_json(bookmarks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
PY
cat > tests/test_folders.py <<'PY'
from pathlib import Path

import pytest

from cli import main


def test_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "b.json")
    main(["--db", db, "add", "https://a.example", "A", "--folder", "F"])
    assert main(["--db", db, "add", "nope", "B"]) == 1
    capsys.readouterr()
    main(["--db", db, "export", "--format", "markdown"])
    assert capsys.readouterr().out.split() == ["##", "F", "-", "[A](https://a.example)"]
PY
python -m pytest -q tests
