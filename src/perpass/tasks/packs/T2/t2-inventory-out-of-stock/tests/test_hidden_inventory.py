import pytest

import errors
from inventory import Inventory
from orders import place_order


def stocked() -> Inventory:
    inv = Inventory()
    inv.add("apple", 3)
    inv.add("pear", 1)
    return inv


def test_remove_too_many_raises() -> None:
    inv = stocked()
    with pytest.raises(errors.OutOfStock) as caught:
        inv.remove("apple", 4)
    assert issubclass(errors.OutOfStock, errors.InventoryError)
    assert (caught.value.item, caught.value.requested, caught.value.available) == ("apple", 4, 3)
    assert inv.count("apple") == 3


def test_order_all_or_nothing() -> None:
    inv = stocked()
    assert place_order(inv, {"apple": 2, "pear": 2}) is False
    assert (inv.count("apple"), inv.count("pear")) == (3, 1)
    assert place_order(inv, {"apple": 3, "pear": 1}) is True
    assert (inv.count("apple"), inv.count("pear")) == (0, 0)
