"""Command line for bookmarks."""

import argparse
import sys
from pathlib import Path

import storage
from formatter import format_list
from model import Bookmark


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bookmarks")
    parser.add_argument("--db", type=Path, default=Path("bookmarks.json"))
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add")
    add.add_argument("url")
    add.add_argument("title")
    commands.add_parser("list")
    args = parser.parse_args(argv)

    bookmarks = storage.load(args.db)
    if args.command == "add":
        bookmarks.append(Bookmark(url=args.url, title=args.title))
        storage.save(args.db, bookmarks)
    elif args.command == "list":
        if bookmarks:
            print(format_list(bookmarks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
