"""A small book catalogue."""

from dataclasses import dataclass


@dataclass
class Book:
    title: str
    author: str


def search(books: list[Book], query: str) -> list[Book]:
    """Books whose title contains `query`, ignoring case, in catalogue order."""
    return [book for book in books if query in book.title]
