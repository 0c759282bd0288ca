from pagination import page_count, page_slice


def test_page_count() -> None:
    assert page_count(25, 10) == 3
    assert page_count(20, 10) == 2


def test_page_slice() -> None:
    assert page_slice(list(range(25)), 3, 10) == [20, 21, 22, 23, 24]
