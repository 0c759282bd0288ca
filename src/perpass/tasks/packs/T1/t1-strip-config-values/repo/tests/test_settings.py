import pytest

from settings import parse_config


def test_comments_skipped() -> None:
    assert parse_config("# nothing\n\n") == {}


def test_bad_line() -> None:
    with pytest.raises(ValueError):
        parse_config("just words")
