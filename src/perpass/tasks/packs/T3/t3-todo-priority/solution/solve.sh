set -e
cat > model.py <<'PY'
"""The todo item."""

from dataclasses import dataclass

PRIORITIES = ("high", "normal", "low")  # listing order


@dataclass
class Todo:
    id: int
    title: str
    done: bool = False
    priority: str = "normal"

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise ValueError("a todo needs a title")
        if self.priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}")
PY
cat > storage.py <<'PY'
"""Todos are kept in a JSON file: a list of objects."""

import json
from pathlib import Path

from model import Todo


def load(path: Path) -> list[Todo]:
    if not path.exists():
        return []
    return [Todo(id=item["id"], title=item["title"], done=item["done"], priority=item.get("priority", "normal"))
            for item in json.loads(path.read_text())]


def save(path: Path, todos: list[Todo]) -> None:
    data = [{"id": t.id, "title": t.title, "done": t.done, "priority": t.priority} for t in todos]
    path.write_text(json.dumps(data, indent=2))


def next_id(todos: list[Todo]) -> int:
    return max((t.id for t in todos), default=0) + 1
PY
cat > formatter.py <<'PY'
"""How todos look on the terminal."""

from model import PRIORITIES, Todo


def format_todo(todo: Todo) -> str:
    box = "[x]" if todo.done else "[ ]"
    suffix = "" if todo.priority == "normal" else f" [{todo.priority}]"
    return f"{box} {todo.id} {todo.title}{suffix}"


def format_list(todos: list[Todo]) -> str:
    if not todos:
        return "nothing to do"
    ordered = sorted(todos, key=lambda t: (PRIORITIES.index(t.priority), t.id))
    return "\n".join(format_todo(t) for t in ordered)
PY
python - <<'PY'
from pathlib import Path
path = Path("cli.py")
text = path.read_text()
text = text.replace("from model import Todo", "from model import PRIORITIES, Todo")
text = text.replace('    add.add_argument("title")\n',
                    '    add.add_argument("title")\n'
                    '    add.add_argument("--priority", choices=PRIORITIES, default="normal")\n'
                    '    prioritize = commands.add_parser("prioritize")\n'
                    '    prioritize.add_argument("id", type=int)\n'
                    '    prioritize.add_argument("level", choices=PRIORITIES)\n')
text = text.replace("Todo(id=storage.next_id(todos), title=args.title)",
                    "Todo(id=storage.next_id(todos), title=args.title, priority=args.priority)")
text = text.replace('    elif args.command == "list":\n',
                    '    elif args.command == "prioritize":\n'
                    '        for todo in todos:\n'
                    '            if todo.id == args.id:\n'
                    '                todo.priority = args.level\n'
                    '                storage.save(args.db, todos)\n'
                    '                return 0\n'
                    '        print(f"no todo {args.id}", file=sys.stderr)\n'
                    '        return 1\n'
                    '    elif args.command == "list":\n')
path.write_text(text)
PY
cat > tests/test_priority.py <<'PY'
from pathlib import Path

import pytest

from cli import main


def test_high_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "t.json"
    main(["--db", str(db), "add", "later", "--priority", "low"])
    main(["--db", str(db), "add", "now", "--priority", "high"])
    capsys.readouterr()
    main(["--db", str(db), "list"])
    assert capsys.readouterr().out.splitlines() == ["[ ] 2 now [high]", "[ ] 1 later [low]"]
PY
python -m pytest -q tests
