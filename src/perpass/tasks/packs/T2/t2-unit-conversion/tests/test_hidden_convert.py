import pytest

from convert import convert


@pytest.mark.parametrize(("value", "src", "dst", "expected"), [
    (1, "mile", "km", 1.609344), (1, "ft", "m", 0.3048), (12, "inch", "ft", 1.0),
    (100, "cm", "m", 1.0), (5, "km", "mile", 3.106856), (1, "m", "ft", 3.280840),
])
def test_conversions(value: float, src: str, dst: str, expected: float) -> None:
    assert convert(value, src, dst) == pytest.approx(expected, rel=1e-5)


def test_round_trip() -> None:
    assert convert(convert(7.5, "mile", "inch"), "inch", "mile") == pytest.approx(7.5)
