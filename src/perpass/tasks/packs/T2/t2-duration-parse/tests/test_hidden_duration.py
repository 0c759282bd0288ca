import pytest

from duration import parse_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("1h30m", 5400), ("90s", 90), ("12h", 43200), ("2m 5s", 125), ("5s2m", 125), ("100m", 6000),
])
def test_parse(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "10x", "3 hours"])
def test_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
