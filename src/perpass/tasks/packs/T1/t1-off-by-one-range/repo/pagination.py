"""Split a list of items into numbered pages."""


def page_count(total_items: int, per_page: int) -> int:
    if per_page <= 0:
        raise ValueError("per_page must be positive")
    return -(-total_items // per_page)


def page_numbers(total_items: int, per_page: int) -> list[int]:
    """All page numbers, starting at 1."""
    return list(range(1, page_count(total_items, per_page)))


def page_slice(items: list, page: int, per_page: int) -> list:
    start = (page - 1) * per_page
    return items[start:start + per_page]
