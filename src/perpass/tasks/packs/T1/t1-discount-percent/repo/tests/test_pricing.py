import pytest

from pricing import apply_discount, with_tax


def test_with_tax() -> None:
    assert with_tax(100) == 120.0


def test_discount_bounds() -> None:
    with pytest.raises(ValueError):
        apply_discount(10, 120)
