"""Rendering bookmarks."""

from model import Bookmark


def format_list(bookmarks: list[Bookmark]) -> str:
    return "\n".join(f"{b.title} <{b.url}>" for b in bookmarks)
