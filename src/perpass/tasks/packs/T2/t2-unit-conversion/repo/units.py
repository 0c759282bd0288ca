"""How many metres one of each unit is."""

METRES_PER_UNIT: dict[str, float] = {
    "m": 1.0,
    "km": 1000.0,
    "cm": 0.01,
    "mile": 1609.344,
    "ft": 3.28084,
    "inch": 0.0254,
}


def known_units() -> list[str]:
    return sorted(METRES_PER_UNIT)
