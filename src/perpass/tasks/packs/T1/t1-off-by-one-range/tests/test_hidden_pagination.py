from pagination import page_numbers, page_slice


def test_all_pages_listed() -> None:
    assert page_numbers(25, 10) == [1, 2, 3]
    assert page_numbers(20, 10) == [1, 2]
    assert page_numbers(1, 10) == [1]
    assert page_numbers(0, 10) == []


def test_every_item_on_some_page() -> None:
    items = list(range(37))
    seen = [x for page in page_numbers(len(items), 5) for x in page_slice(items, page, 5)]
    assert seen == items
