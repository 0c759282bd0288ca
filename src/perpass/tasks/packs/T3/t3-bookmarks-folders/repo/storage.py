"""Bookmarks live in a JSON list."""

import json
from pathlib import Path

from model import Bookmark


def load(path: Path) -> list[Bookmark]:
    if not path.exists():
        return []
    return [Bookmark(url=b["url"], title=b["title"]) for b in json.loads(path.read_text())]


def save(path: Path, bookmarks: list[Bookmark]) -> None:
    path.write_text(json.dumps([{"url": b.url, "title": b.title} for b in bookmarks], indent=2))
