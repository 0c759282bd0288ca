import pytest

from errors import UnknownItem
from inventory import Inventory
from orders import place_order


def test_add_remove() -> None:
    inv = Inventory()
    inv.add("apple", 5)
    inv.remove("apple", 2)
    assert inv.count("apple") == 3


def test_unknown_item() -> None:
    with pytest.raises(UnknownItem):
        Inventory().remove("pear", 1)


def test_order_ok() -> None:
    inv = Inventory()
    inv.add("apple", 5)
    assert place_order(inv, {"apple": 5})
    assert inv.count("apple") == 0
