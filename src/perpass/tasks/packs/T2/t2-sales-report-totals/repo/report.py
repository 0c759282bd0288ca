"""Totals per category, and a printable report."""

from reader import read_rows


def totals_by_category(text: str) -> dict[str, float]:
    """Revenue (quantity x unit price) per category."""
    totals: dict[str, float] = {}
    for row in read_rows(text):
        amount = float(row["qty"])
        totals[row["category"]] = totals.get(row["category"], 0.0) + amount
    return totals


def render(text: str) -> str:
    totals = totals_by_category(text)
    lines = [f"{category:<10} {total:>10.2f}" for category, total in sorted(totals.items())]
    lines.append(f"{'TOTAL':<10} {sum(totals.values()):>10.2f}")
    return "\n".join(lines)
