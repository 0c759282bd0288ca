"""Command line for notes."""

import argparse
import sys
from pathlib import Path

from formatter import format_notes
from storage import NoteStore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="notes")
    parser.add_argument("--db", type=Path, default=Path("notes.json"))
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("add").add_argument("text")
    commands.add_parser("list")
    commands.add_parser("delete").add_argument("id", type=int)
    args = parser.parse_args(argv)

    store = NoteStore(args.db)
    if args.command == "add":
        note = store.add(args.text)
        store.save()
        print(f"added {note.id}")
    elif args.command == "list":
        output = format_notes(store.notes)
        if output:
            print(output)
    elif args.command == "delete":
        if not store.delete(args.id):
            print(f"no note {args.id}", file=sys.stderr)
            return 1
        store.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
