"""Prices, discounts and tax for the shop."""

TAX_RATE = 0.2


def apply_discount(price: float, percent: float) -> float:
    """The price after taking `percent` percent off."""
    if not 0 <= percent <= 100:
        raise ValueError("percent must be between 0 and 100")
    return round(price * percent / 100, 2)


def with_tax(price: float) -> float:
    return round(price * (1 + TAX_RATE), 2)
