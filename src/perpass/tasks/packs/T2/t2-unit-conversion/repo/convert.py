"""Convert lengths between units."""

from units import METRES_PER_UNIT


def convert(value: float, from_unit: str, to_unit: str) -> float:
    for unit in (from_unit, to_unit):
        if unit not in METRES_PER_UNIT:
            raise ValueError(f"unknown unit {unit!r}")
    return value * METRES_PER_UNIT[to_unit] / METRES_PER_UNIT[from_unit]
