import pytest

from reader import read_rows
from report import totals_by_category

SALES = """item,category,qty,unit_price
a,x,3,2.00
b,y,1,10.50
"c, large",x,1,1.25
d,y,4,0.25
"""


def test_rows_including_last_and_quoted() -> None:
    rows = read_rows(SALES)
    assert [row["item"] for row in rows] == ["a", "b", "c, large", "d"]


def test_single_row() -> None:
    assert totals_by_category("item,category,qty,unit_price\nz,w,2,3.5\n") == {"w": 7.0}


def test_revenue_per_category() -> None:
    totals = totals_by_category(SALES)
    assert totals == {"x": pytest.approx(7.25), "y": pytest.approx(11.5)}
