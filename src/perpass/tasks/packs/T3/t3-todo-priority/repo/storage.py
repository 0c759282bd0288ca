"""Todos are kept in a JSON file: a list of objects."""

import json
from pathlib import Path

from model import Todo


def load(path: Path) -> list[Todo]:
    if not path.exists():
        return []
    return [Todo(id=item["id"], title=item["title"], done=item["done"]) for item in json.loads(path.read_text())]


def save(path: Path, todos: list[Todo]) -> None:
    data = [{"id": t.id, "title": t.title, "done": t.done} for t in todos]
    path.write_text(json.dumps(data, indent=2))


def next_id(todos: list[Todo]) -> int:
    return max((t.id for t in todos), default=0) + 1
