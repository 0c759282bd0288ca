from library import Book, search

BOOKS = [Book("Dune", "Herbert"), Book("Children of DUNE", "Herbert"), Book("Emma", "Austen")]


def test_ignores_case() -> None:
    assert search(BOOKS, "dune") == BOOKS[:2]
    assert search(BOOKS, "EMMA") == [BOOKS[2]]
    assert search(BOOKS, "zzz") == []
