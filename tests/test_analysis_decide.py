"""Inversions on stores where the answer is known, the decision per tier, and cascades checked
against brute-force enumeration of per-task outcomes."""

from __future__ import annotations

from itertools import permutations
from pathlib import Path

import pytest
from analysis_helpers import FREE_FAILS, TIER_KEYS

from perpass.analysis.analyze import analyze
from perpass.analysis.decide import best_cascade, cascade_terms, decision
from perpass.analysis.prices import Overheads, PriceBook
from perpass.analysis.synthetic import StoreBuilder


def book(min_pass_rate: float = 0.5, overheads: Overheads = FREE_FAILS) -> PriceBook:
    return PriceBook(overheads=overheads, min_pass_rate=min_pass_rate)


def inversion_store(tmp_path: Path) -> Path:
    with StoreBuilder(tmp_path / "perpass.db") as b:
        cheap = b.route("cheap/baseline", prices={"input": 1, "output": 1})
        dear = b.route("dear/baseline", prices={"input": 10, "output": 10})
        # 24 tasks: enough that the pass-rate uncertainty (the clustered interval) leaves the flip clear
        for t in range(24):
            for r in range(3):
                b.episode(cheap, f"t{t}", repeat=r, passed=r == 0, calls=[(1500, 0, 500, 0, 1.0)])  # $0.002
                b.episode(dear, f"t{t}", repeat=r, passed=True, calls=[(300, 0, 100, 0, 1.0)])  # $0.004
    return tmp_path


def test_known_inversions_are_found_with_numbers_and_significance(tmp_path: Path) -> None:
    result = decision(analyze(inversion_store(tmp_path), book(), n_boot=300))
    flips = {(i.a, i.b, i.from_layer, i.to_layer) for i in result.inversions}
    assert flips == {
        ("cheap/baseline", "dear/baseline", "per_episode", "per_pass"),
        ("cheap/baseline", "dear/baseline", "per_token", "per_pass"),
    }
    inv = next(i for i in result.inversions if i.from_layer == "per_episode")
    assert inv.from_ == {"cheap/baseline": pytest.approx(0.002), "dear/baseline": pytest.approx(0.004)}
    assert inv.to == {"cheap/baseline": pytest.approx(0.006), "dear/baseline": pytest.approx(0.004)}
    assert inv.significant is True
    assert result.rankings["per_episode"] == ["cheap/baseline", "dear/baseline"]
    assert result.rankings["per_pass"] == ["dear/baseline", "cheap/baseline"]


def test_noisy_inversion_is_marked_not_significant(tmp_path: Path) -> None:
    x_passes, y_passes = [2, 1, 2, 0, 1, 2], [1, 2, 2, 1, 2, 1]
    with StoreBuilder(tmp_path / "perpass.db") as b:
        x = b.route("x/baseline", prices={"input": 1, "output": 0})
        y = b.route("y/baseline", prices={"input": 1.1, "output": 0})
        for t, (px, py) in enumerate(zip(x_passes, y_passes, strict=True)):
            for r in range(2):
                b.episode(x, f"t{t}", repeat=r, passed=r < px, calls=[(1000, 0, 0, 0, 1.0)])
                b.episode(y, f"t{t}", repeat=r, passed=r < py, calls=[(1000, 0, 0, 0, 1.0)])
    result = decision(analyze(tmp_path, book(), n_boot=500))
    inv = [i for i in result.inversions if i.to_layer == "per_pass"]
    assert inv and all(i.a == "x/baseline" for i in inv)
    assert all(i.significant is False for i in inv)
    assert "not significant" in inv[0].text


def test_decision_picks_cheapest_eligible_route_and_runner_up(tmp_path: Path) -> None:
    with StoreBuilder(tmp_path / "perpass.db") as b:
        cells = {
            name: b.route(f"{name}/baseline", prices={"input": price, "output": 0})
            for name, price in (("a", 1), ("b", 2), ("c", 0.1))
        }
        for t in range(8):
            for r in range(3):
                b.episode(cells["a"], f"t{t}", repeat=r, passed=True, calls=[(1000, 0, 0, 0, 1.0)])
                b.episode(cells["b"], f"t{t}", repeat=r, passed=True, calls=[(1000, 0, 0, 0, 1.0)])
                # c is the cheapest per pass among what passes, but passes too rarely to be eligible
                b.episode(
                    cells["c"],
                    f"t{t}",
                    repeat=r,
                    passed=r == 0 and t < 2,
                    ceiling="turn",
                    calls=[(1000, 0, 0, 0, 1.0)],
                )
    tier = decision(analyze(tmp_path, book(), n_boot=300)).tiers["T1"]
    assert tier.primary == "a/baseline"
    assert tier.fallback == "b/baseline"
    assert tier.cost_per_pass == pytest.approx(0.001)
    assert tier.pass_rate == 1.0 and tier.pass_ci[0] > 0.5
    assert set(tier.to_json()) >= TIER_KEYS
    assert len(tier.evidence.episode_ids) == 24


def test_no_eligible_route_names_the_blocking_ceiling(tmp_path: Path) -> None:
    with StoreBuilder(tmp_path / "perpass.db") as b:
        cell = b.route("slow/baseline", prices={"input": 1, "output": 1})
        for t in range(6):
            b.episode(cell, f"t{t}", passed=t == 0, ceiling="turn", calls=[(100, 0, 10, 0, 1.0)])
    tier = decision(analyze(tmp_path, book(), n_boot=300)).tiers["T1"]
    assert tier.primary is None and tier.cost_per_pass is None
    assert tier.blocked_by == "turn"
    assert "max_turns" in tier.reason


def test_route_without_a_pass_is_infinite_not_an_error(tmp_path: Path) -> None:
    with StoreBuilder(tmp_path / "perpass.db") as b:
        cell = b.route("never/baseline", prices={"input": 1, "output": 1})
        for t in range(4):
            b.episode(cell, f"t{t}", calls=[(100, 0, 10, 0, 1.0)])
    layer = analyze(tmp_path, book(), n_boot=300).layers["never/baseline"]
    assert layer.per_pass is None
    assert layer.per_pass_text == "∞ (no pass in 4 episodes)"


def test_only_infra_failures_means_not_enough_evidence(tmp_path: Path) -> None:
    with StoreBuilder(tmp_path / "perpass.db") as b:
        cell = b.route("flaky/baseline", prices={"input": 1, "output": 1})
        for t in range(3):
            b.episode(cell, f"t{t}", ceiling="infra", calls=[(100, 0, 10, 0, 1.0)])
    result = decision(analyze(tmp_path, book(), n_boot=300))
    assert "not enough evidence" in result.message
    assert result.tiers["T1"].primary is None
    assert "not enough evidence" in result.tiers["T1"].reason
    assert result.layers["flaky/baseline"].infra_episodes == 3
    assert result.layers["flaky/baseline"].episodes == 0


# --- cascades: per-task formula vs brute-force enumeration ------------------------------------

PRICES = {"a": 1.0, "b": 3.0, "c": 0.5}  # $ per 1M input tokens; no output tokens used
OUTCOMES = {  # route -> task -> [(passed, prompt tokens, false done)]
    "a": {
        "t0": [(1, 1000, 0), (0, 3000, 1), (0, 2000, 0)],
        "t1": [(0, 1000, 1), (0, 1500, 0)],
        "t2": [(1, 800, 0), (1, 900, 0)],
    },
    "b": {
        "t0": [(1, 5000, 0), (1, 4000, 0)],
        "t1": [(1, 6000, 0), (0, 7000, 1), (1, 5000, 0)],
        "t2": [(0, 4000, 1)],
    },
    "c": {"t0": [(0, 9000, 1), (0, 100, 0)], "t1": [(1, 200, 0)], "t2": [(0, 300, 1), (1, 400, 0)]},
}
OVERHEADS = Overheads(reviewer_minutes=1, reviewer_hourly=0.06, false_done_drag=0.0005)  # $0.001 + $0.0005


def cascade_store(tmp_path: Path) -> Path:
    with StoreBuilder(tmp_path / "perpass.db") as b:
        for route, tasks in OUTCOMES.items():
            cell = b.route(f"{route}/baseline", prices={"input": PRICES[route], "output": 0})
            for task, eps in tasks.items():
                for r, (passed, tokens, false_done) in enumerate(eps):
                    b.episode(
                        cell,
                        task,
                        repeat=r,
                        passed=bool(passed),
                        ceiling="capability" if false_done else "turn",
                        calls=[(tokens, 0, 0, 0, 1.0)],
                    )
    return tmp_path


def attempt_cost(route: str, passed: int, tokens: int, false_done: int) -> float:
    fail = 0.0 if passed else OVERHEADS.per_review + false_done * OVERHEADS.false_done_drag
    return tokens * PRICES[route] / 1e6 + fail


def brute_force(first: str, then: str) -> float:
    """Every pairing of an attempt of `first` with an attempt of `then` on the same task, equally likely."""
    cost_sum = pass_sum = 0.0
    for task in OUTCOMES[first]:
        pairs = [(x, y) for x in OUTCOMES[first][task] for y in OUTCOMES[then][task]]
        cost = [attempt_cost(first, *x) + (0 if x[0] else attempt_cost(then, *y)) for x, y in pairs]
        passed = [1.0 if x[0] or y[0] else 0.0 for x, y in pairs]
        cost_sum += sum(cost) / len(pairs)
        pass_sum += sum(passed) / len(pairs)
    return cost_sum / pass_sum


def test_cascade_cost_equals_brute_force_enumeration(tmp_path: Path) -> None:
    an = analyze(cascade_store(tmp_path), PriceBook(overheads=OVERHEADS, min_pass_rate=0.0), n_boot=300)
    for first, then in permutations(PRICES, 2):
        i, j = an.route_index(f"{first}/baseline"), an.route_index(f"{then}/baseline")
        num, den = cascade_terms(an.tables[(i, "T1")], an.tables[(j, "T1")])
        assert num.sum() / den.sum() == pytest.approx(brute_force(first, then)), (first, then)


def test_best_cascade_is_the_cheapest_pair_by_enumeration(tmp_path: Path) -> None:
    an = analyze(cascade_store(tmp_path), PriceBook(overheads=OVERHEADS, min_pass_rate=0.0), n_boot=300)
    best = best_cascade(an, "T1", list(range(len(an.data.routes))))
    expected = min(permutations(PRICES, 2), key=lambda p: brute_force(*p))
    assert best is not None
    assert (best.first, best.then) == (f"{expected[0]}/baseline", f"{expected[1]}/baseline")
    assert best.cost_per_pass == pytest.approx(brute_force(*expected))


def test_blocked_tier_says_why_on_that_tier(tmp_path: Path) -> None:
    # Three passes of one task: its lower bound (one task's worth: 0.21) makes sample size the blocker, not a ceiling.
    with StoreBuilder(tmp_path / "perpass.db") as b:
        small = b.route("small/baseline", prices={"input": 1, "output": 1})
        for r in range(3):
            b.episode(small, "t0-a", tier="T0", repeat=r, passed=True, calls=[(100, 0, 10, 0, 1.0)])
            b.episode(small, "t1-a", tier="T1", repeat=r, passed=False, ceiling="turn",
                      calls=[(100, 0, 10, 0, 1.0)])
    tiers = decision(analyze(tmp_path, book(), n_boot=200)).tiers
    assert tiers["T0"].primary is None and "too few" in tiers["T0"].reason
    assert tiers["T0"].blocked_by is None
    assert tiers["T1"].blocked_by == "turn" and "turn 3" in tiers["T1"].reason
