"""Command line: add, done, list."""

import argparse
import sys
from pathlib import Path

import storage
from formatter import format_list
from model import Todo


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="todo")
    parser.add_argument("--db", type=Path, default=Path("todos.json"))
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add")
    add.add_argument("title")
    done = commands.add_parser("done")
    done.add_argument("id", type=int)
    commands.add_parser("list")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    todos = storage.load(args.db)
    if args.command == "add":
        todo = Todo(id=storage.next_id(todos), title=args.title)
        todos.append(todo)
        storage.save(args.db, todos)
        print(f"added {todo.id}")
    elif args.command == "done":
        for todo in todos:
            if todo.id == args.id:
                todo.done = True
                storage.save(args.db, todos)
                return 0
        print(f"no todo {args.id}", file=sys.stderr)
        return 1
    elif args.command == "list":
        print(format_list(todos))
    return 0


if __name__ == "__main__":
    sys.exit(main())
