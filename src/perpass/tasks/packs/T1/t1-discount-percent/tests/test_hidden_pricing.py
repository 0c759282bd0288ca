import pytest

from pricing import apply_discount


@pytest.mark.parametrize(("price", "percent", "expected"), [
    (200, 25, 150.0), (100, 0, 100.0), (100, 100, 0.0), (19.99, 10, 17.99),
])
def test_discounted_price(price: float, percent: float, expected: float) -> None:
    assert apply_discount(price, percent) == pytest.approx(expected, abs=0.01)


def test_bounds_still_checked() -> None:
    with pytest.raises(ValueError):
        apply_discount(10, -5)
