import pytest

from duration import parse_duration


def test_seconds() -> None:
    assert parse_duration("5s") == 5


def test_garbage() -> None:
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_hours_minutes() -> None:
    assert parse_duration("1h30m") == 5400
