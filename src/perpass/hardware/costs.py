"""Local cost inputs from a hardware profile: its typical power draw and a price you give."""

from __future__ import annotations

from perpass.config import LocalCosts
from perpass.errors import UserError
from perpass.hardware.catalog import HardwareProfile, load_catalog

DEFAULT_CPU_BOX_WATTS = 65.0  # a desktop/server CPU under inference load, when no profile matches


def local_costs_for(profile: HardwareProfile | str | None, hardware_price: float | None = None) -> LocalCosts:
    """LocalCosts with the profile's watts and `hardware_price` (else the profile's typical price).

    Amortization hours and $/kWh keep LocalCosts' documented defaults; override them in the route.
    """
    if isinstance(profile, str):
        profile = load_catalog().profile(profile)
    if hardware_price is not None and hardware_price < 0:
        raise UserError(f"hardware price must be >= 0, got {hardware_price}")
    defaults = LocalCosts()
    watts = profile.power_w if profile and profile.power_w is not None else DEFAULT_CPU_BOX_WATTS
    price = hardware_price
    if price is None:
        price = profile.price_usd if profile and profile.price_usd is not None else defaults.hardware_price
    return LocalCosts(hardware_price=price, watts=watts)
