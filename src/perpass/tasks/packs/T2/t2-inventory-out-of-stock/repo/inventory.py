"""Stock counts per item."""

from errors import UnknownItem


class Inventory:
    def __init__(self) -> None:
        self.stock: dict[str, int] = {}

    def add(self, item: str, count: int) -> None:
        self.stock[item] = self.stock.get(item, 0) + count

    def remove(self, item: str, count: int) -> None:
        if item not in self.stock:
            raise UnknownItem(item)
        self.stock[item] -= count

    def count(self, item: str) -> int:
        return self.stock.get(item, 0)
