import pytest

from convert import convert


def test_identity() -> None:
    assert convert(3, "m", "m") == 3


def test_km_to_m() -> None:
    assert convert(2, "km", "m") == pytest.approx(2000)


def test_unknown_unit() -> None:
    with pytest.raises(ValueError):
        convert(1, "m", "parsec")
