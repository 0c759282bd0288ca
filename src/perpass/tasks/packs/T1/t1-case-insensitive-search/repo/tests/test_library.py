from library import Book, search


def test_exact_case() -> None:
    books = [Book("Dune", "Herbert"), Book("Emma", "Austen")]
    assert search(books, "Dune") == [books[0]]
