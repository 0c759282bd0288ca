import calendar

from calendar_utils import days_in_month, is_leap


def test_matches_gregorian_rules() -> None:
    for year in range(1600, 2401):
        assert is_leap(year) == calendar.isleap(year), year


def test_february_2000() -> None:
    assert days_in_month(2000, 2) == 29
    assert days_in_month(1900, 2) == 28
