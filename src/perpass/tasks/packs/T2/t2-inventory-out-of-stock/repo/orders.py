"""Placing orders against the inventory."""

from inventory import Inventory


def place_order(inventory: Inventory, lines: dict[str, int]) -> bool:
    """Take every line of the order out of stock. True when the order went through."""
    for item, count in lines.items():
        inventory.remove(item, count)
    return True
