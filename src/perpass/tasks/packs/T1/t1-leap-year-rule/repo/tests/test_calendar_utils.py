from calendar_utils import days_in_month, is_leap


def test_common_cases() -> None:
    assert is_leap(2024)
    assert not is_leap(2023)
    assert days_in_month(2023, 1) == 31
