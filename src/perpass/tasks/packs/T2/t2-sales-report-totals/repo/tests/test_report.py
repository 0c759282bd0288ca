from reader import read_rows
from report import render, totals_by_category

SALES = """item,category,qty,unit_price
pen,office,10,1.50
desk,furniture,1,120.00
paper,office,2,4.25
chair,furniture,2,45.00
"""


def test_reads_every_row() -> None:
    assert [row["item"] for row in read_rows(SALES)] == ["pen", "desk", "paper", "chair"]


def test_totals_are_revenue() -> None:
    assert totals_by_category(SALES) == {"office": 23.5, "furniture": 210.0}


def test_render() -> None:
    assert render(SALES).splitlines()[-1].split() == ["TOTAL", "233.50"]
