"""The adaptive stopping rule on constructed evidence: what stops, what races on, and the error rate."""

from __future__ import annotations

import numpy as np
import pytest

from perpass.analysis.allocation import (
    RACING,
    STOP_DECIDED,
    STOP_DOMINATED,
    STOP_INELIGIBLE,
    CellEvidence,
    RacingRule,
    race,
)

RULE = RacingRule(error_rate=0.05, min_pass_rate=0.5, min_repeats=3, max_repeats=10)
TASKS = 12


def cell(name: str, rate: float, price: float, repeats: int, seed: int, tier: str = "T1") -> CellEvidence:
    """A route on TASKS tasks: task difficulty shared by every route (seed 0), its own noise (seed)."""
    difficulty = np.random.default_rng(0).normal(0, 1.0, TASKS)
    rng = np.random.default_rng(seed)
    p = 1 / (1 + np.exp(-(np.log(rate / (1 - rate)) - difficulty)))
    passed = rng.random((TASKS, repeats)) < p[:, None]
    spent = price * rng.gamma(4.0, 0.25, (TASKS, repeats)) * np.where(passed, 1.0, 1.5)
    task = np.repeat(np.arange(TASKS), repeats)
    return CellEvidence.from_episodes(name, tier, task, passed.ravel(), spent.ravel(), TASKS)


def by_cell(verdicts: list) -> dict:
    return {v.cell: v for v in verdicts}


def test_a_clearly_dearer_cell_stops_at_the_first_look_and_the_winner_is_then_decided() -> None:
    verdicts = by_cell(race([cell("cheap", 0.95, 0.01, 3, 1), cell("dear", 0.95, 0.10, 3, 2)], RULE))
    assert verdicts["dear"].kind == STOP_DOMINATED and not verdicts["dear"].go_on
    assert "cheap will clear the minimum pass rate" in verdicts["dear"].reason
    assert verdicts["cheap"].kind == STOP_DECIDED  # the last one racing, and surely eligible
    assert verdicts["dear"].episodes == TASKS * 3


def test_a_cell_that_cannot_reach_the_minimum_pass_rate_stops() -> None:
    verdicts = by_cell(race([cell("good", 0.8, 0.05, 3, 1), cell("weak", 0.08, 0.001, 3, 2)], RULE))
    assert verdicts["weak"].kind == STOP_INELIGIBLE  # cheapest by far, but never eligible
    assert "lower bound" in verdicts["weak"].reason


def test_no_pass_at_all_is_infinite_cost_and_stops_as_ineligible() -> None:
    never = cell("never", 0.5, 0.05, 3, 3)
    never = CellEvidence("never", "T1", never.episodes, 0 * never.passes, never.spent, never.spent_sq, 0 * never.spent)
    verdict = by_cell(race([cell("good", 0.9, 0.05, 3, 1), never], RULE))["never"]
    assert verdict.cost_per_pass == float("inf") and verdict.kind == STOP_INELIGIBLE


def test_a_near_tie_keeps_racing_through_every_round_to_the_maximum() -> None:
    """Two routes whose outcomes match episode for episode, prices 1 % apart: a gap that the repeats
    still to come could close at every look (rounds as the scheduler runs them)."""
    n = {"a": 3, "b": 3}
    stopped: set[tuple[str, str]] = set()
    for _ in range(RULE.min_repeats, RULE.max_repeats):
        cells = [cell("a", 0.8, 0.050, n["a"], 11), cell("b", 0.8, 0.0505, n["b"], 11)]
        for v in race(cells, RULE, frozenset(stopped)):
            assert v.go_on and v.kind == RACING, v.reason
        for name in n:
            n[name] += 1
    assert n == {"a": RULE.max_repeats, "b": RULE.max_repeats}


def test_stopped_cells_stay_stopped_and_are_not_judged_again() -> None:
    cells = [cell("cheap", 0.95, 0.01, 4, 1), cell("dear", 0.95, 0.10, 3, 2)]
    verdicts = race(cells, RULE, frozenset({("dear", "T1")}))
    assert [v.cell for v in verdicts] == ["cheap"]


def test_tiers_race_apart() -> None:
    cells = [cell("a", 0.95, 0.01, 3, 1, "T1"), cell("b", 0.95, 0.10, 3, 2, "T1"),
             cell("a", 0.95, 0.10, 3, 3, "T2"), cell("b", 0.95, 0.01, 3, 4, "T2")]
    kinds = {(v.cell, v.tier): v.kind for v in race(cells, RULE)}
    assert kinds[("b", "T1")] == STOP_DOMINATED and kinds[("a", "T2")] == STOP_DOMINATED


def test_the_bounds_widen_with_more_cells_more_looks_and_a_smaller_error_rate() -> None:
    assert RULE.z(8) > RULE.z(2)
    assert RacingRule(max_repeats=20).z(4) > RULE.z(4)
    assert RacingRule(error_rate=0.01).z(4) > RULE.z(4)
    # α / (3·K·L) one-sided: K = 4 cells, L = 7 looks, α = 0.05
    assert RULE.z(4) == pytest.approx(3.239, abs=0.01)
