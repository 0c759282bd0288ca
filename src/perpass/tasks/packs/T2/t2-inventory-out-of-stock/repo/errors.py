"""Errors of the inventory package."""


class InventoryError(Exception):
    """Base class for inventory problems."""


class UnknownItem(InventoryError):
    def __init__(self, item: str) -> None:
        super().__init__(f"unknown item {item!r}")
        self.item = item
