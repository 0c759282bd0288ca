"""Bugs from issue 12's review, each with the test that failed before its fix: one `per_failure`, one money
formatter for cards and report, Pareto labels that neither overlap nor leave the plot; and the LiteLLM price
fields cover every price perpass knows."""

from __future__ import annotations

import math
import random
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
import yaml

from perpass.analysis.analyze import analyze
from perpass.analysis.calc import CalcOverheads, calc
from perpass.analysis.decide import decision
from perpass.analysis.money import money
from perpass.analysis.prices import Overheads, PriceBook
from perpass.analysis.synthetic import StoreBuilder
from perpass.config import CloudPrices
from perpass.report.cards import fmt_layer
from perpass.report.litellm import LITELLM_PRICE_FIELDS
from perpass.report.plots import scatter_figure


def test_per_failure_is_one_formula_for_the_store_and_the_calculator(tmp_path: Path) -> None:
    settings = {"reviewer_minutes": 5.0, "reviewer_hourly": 60.0, "false_done_drag": 10.0}
    assert Overheads(**settings).per_failure(1) == CalcOverheads(**settings, false_done_share=1).per_failure == 15.0
    assert Overheads(**settings).per_failure(0) == CalcOverheads(**settings, false_done_share=0).per_failure == 5.0
    # The same route measured (a store) and described (a calc file) costs the same per pass.
    with StoreBuilder(tmp_path / "runs" / "perpass.db") as b:
        cell = b.route("m/baseline", prices={"input": 2.0, "output": 8.0})
        for t in range(4):  # pass rate 0.5; of the failures, half said "done"
            b.episode(cell, f"t{t}", passed=t < 2, ceiling="capability" if t == 2 else "turn",
                      calls=[(1000, 0, 200, 0, 1.0)])
    measured = analyze(tmp_path / "runs", PriceBook(overheads=Overheads(**settings)), n_boot=100)
    spec = {"overheads": {**settings, "false_done_share": 0.5},
            "routes": {"m": {"prices": {"input": 2.0, "output": 8.0}, "prompt_tokens": 1000, "completion_tokens": 200,
                             "pass_rate": 0.5}}}
    (tmp_path / "calc.yaml").write_text(yaml.safe_dump(spec))
    described = calc(tmp_path / "calc.yaml")["routes"]["m"]["per_pass"]
    assert measured.layers["m/baseline"].per_pass == pytest.approx(described)


@pytest.mark.parametrize(("value", "text"), [
    (0.000123, "$0.000123"), (0.0001234, "$0.000123"), (1.23e-5, "$0.0000123"), (0.0123, "$0.0123"),
    (0.125, "$0.125"), (1.125, "$1.13"), (12.345, "$12.35"), (1234.5, "$1,235"), (0.0, "$0"),
    (5.551115123125783e-17, "$0"), (None, "∞"), (math.inf, "∞"), (-0.00042, "-$0.000420"),
])
def test_money_rules(value: float | None, text: str) -> None:
    assert money(value) == text


def test_cards_print_small_costs_with_their_digits() -> None:
    """Before: the card said $0.0001 where the report said $0.000123."""
    assert fmt_layer("per_pass", 0.000123) == "$0.000123"


def money_samples() -> list[float]:
    rng = random.Random(7)
    values = [10 ** rng.uniform(-9, 5) * rng.choice((1, -1)) for _ in range(300)]
    values += [0.000123, 0.125, 1.125, 2.5, 12.345, 99.995, 100.5, 0.9996, 0.00099996, 5e-10, 4.9e-10, 1e-3, 1e-4]
    return values


@pytest.mark.browser
def test_the_report_formats_money_exactly_as_the_cards(tmp_path: Path) -> None:
    from report_helpers import browser_page, open_report

    from perpass.report.html_report import write_report

    html = write_report(close_routes_store(tmp_path), tmp_path / "report.html")
    values = money_samples()
    with browser_page() as (page, errors):
        open_report(page, html)
        shown = page.evaluate("(values) => values.map((v) => perpassMoney(v))", values)
        assert errors == []
    mismatches = [(v, js, money(v)) for v, js in zip(values, shown, strict=True) if js != money(v)]
    assert mismatches == []


def close_routes_store(tmp_path: Path) -> Path:
    """Two routes at nearly the same cost and pass rate, and a long-named one at the highest cost."""
    store = tmp_path / "runs"
    with StoreBuilder(store / "perpass.db") as b:
        cells = {
            # cells of one model: the card labels every one of them
            "near/baseline": (b.route("near/baseline", prices={"input": 10.0, "output": 0}), 1000),
            "near/top_p=0.95": (b.route("near/top_p=0.95", prices={"input": 10.1, "output": 0}), 1000),
            "near/a-rather-long-config-name=0.7": (
                b.route("near/a-rather-long-config-name=0.7", prices={"input": 30.0, "output": 0}), 1000),
        }
        for t in range(6):
            for r in range(3):
                for cell, tokens in cells.values():
                    b.episode(cell, f"t{t}", repeat=r, passed=(t + r) % 6 != 0, calls=[(tokens, 0, 0, 0, 1.0)])
    return store


def test_card_pareto_labels_neither_overlap_nor_leave_the_figure(tmp_path: Path) -> None:
    an = analyze(close_routes_store(tmp_path), PriceBook(overheads=Overheads(reviewer_minutes=0,
                                                                             false_done_drag=0)), n_boot=100)
    result = decision(an)
    fig, labels = scatter_figure(result.layers, "near")
    try:
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        boxes = [label.get_window_extent(renderer) for label in labels]
        assert len(boxes) == 3
        for i, box in enumerate(boxes):
            assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1, labels[i].get_text()
            assert all(not box.overlaps(other) for other in boxes[i + 1:]), labels[i].get_text()
    finally:
        plt.close(fig)


@pytest.mark.browser
def test_report_pareto_labels_neither_overlap_nor_leave_the_plot(tmp_path: Path, test_output: Path) -> None:
    from report_helpers import browser_page, open_report

    from perpass.report.html_report import write_report

    prices = tmp_path / "prices.yaml"
    prices.write_text(yaml.safe_dump({"overheads": {"reviewer_minutes": 0, "false_done_drag": 0}}))
    html = write_report(close_routes_store(tmp_path), tmp_path / "report.html", prices)
    with browser_page() as (page, errors):
        open_report(page, html)
        boxes = page.evaluate("""() => [...document.querySelectorAll('#pareto-svg text.pt-label')].map((t) => {
            const b = t.getBBox(); return {name: t.textContent, x: b.x, y: b.y, w: b.width, h: b.height}; })""")
        width = page.evaluate("() => document.getElementById('pareto-svg').viewBox.baseVal.width")
        page.locator("#pareto").screenshot(path=str(test_output / "report-pareto-labels.png"))
        assert errors == []
    assert len(boxes) == 3
    for i, a in enumerate(boxes):
        assert 0 <= a["x"] and a["x"] + a["w"] <= width, a
        for b in boxes[i + 1:]:
            apart = a["x"] + a["w"] <= b["x"] or b["x"] + b["w"] <= a["x"] or a["y"] + a["h"] <= b["y"] \
                or b["y"] + b["h"] <= a["y"]
            assert apart, (a, b)


def test_every_price_perpass_knows_has_a_litellm_field() -> None:
    assert set(CloudPrices.model_fields) == set(LITELLM_PRICE_FIELDS)
