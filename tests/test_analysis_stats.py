"""Wilson against known values, pass@k / pass^k against enumeration, bootstrap coverage by simulation."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest

from perpass.analysis import stats


@pytest.mark.parametrize(
    "passes, n, lo, hi",
    [
        (5, 10, 0.2366, 0.7634),  # textbook values
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (81, 263, 0.2553, 0.3662),
    ],
)
def test_wilson_known_values(passes: int, n: int, lo: float, hi: float) -> None:
    got = stats.wilson(passes, n)
    assert got[0] == pytest.approx(lo, abs=5e-4)
    assert got[1] == pytest.approx(hi, abs=5e-4)


def test_wilson_without_evidence_is_the_whole_range() -> None:
    assert stats.wilson(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize("n, c", [(5, 0), (5, 2), (5, 5), (4, 3), (6, 1)])
def test_pass_at_k_and_pass_hat_k_match_enumeration(n: int, c: int) -> None:
    outcomes = [True] * c + [False] * (n - c)
    for k in range(1, n + 1):
        subsets = list(combinations(outcomes, k))
        assert stats.pass_at_k(n, c, k) == pytest.approx(sum(any(s) for s in subsets) / len(subsets))
        assert stats.pass_hat_k(n, c, k) == pytest.approx(sum(all(s) for s in subsets) / len(subsets))


def test_pass_k_table_averages_over_tasks_with_enough_repeats() -> None:
    table = stats.pass_k_table([3, 3, 1], [3, 0, 1])
    assert table["pass_at_k"]["1"] == pytest.approx((1 + 0 + 1) / 3)
    assert table["pass_at_k"]["3"] == pytest.approx((1 + 0) / 2)  # the 1-repeat task cannot say


def test_ratio_never_divides_by_zero() -> None:
    assert stats.ratio(3.0, 0.0) == math.inf
    assert stats.ratio(0.0, 0.0) == math.inf
    assert stats.finite_or_none(math.inf) is None


def test_resample_counts_draw_each_task_set_with_replacement() -> None:
    counts = stats.resample_counts(7, 500, np.random.default_rng(0))
    assert counts.shape == (500, 7)
    assert (counts.sum(axis=1) == 7).all()
    assert counts.mean() == pytest.approx(1.0, abs=0.05)
    # each task is drawn about once per resample on average, and some more than once (replacement)
    assert counts.mean(axis=0) == pytest.approx(np.ones(7), abs=0.15)
    assert (counts > 1).any() and (counts == 0).any()


def test_bootstrap_interval_covers_true_cost_per_pass_at_least_93_percent() -> None:
    """Bernoulli routes: tasks differ in difficulty (the cluster effect), costs are random; the true
    cost per pass is E[cost] / E[pass]. 600 simulated runs, the 95 % interval must cover ≥ 93 %."""
    rng = np.random.default_rng(2024)
    runs, tasks, repeats, mean_cost = 600, 80, 3, 0.2
    truth = mean_cost / 0.55  # pass rates uniform on [0.2, 0.9]
    covered = 0
    for _ in range(runs):
        rates = rng.uniform(0.2, 0.9, tasks)
        passes = rng.binomial(repeats, rates).astype(float)
        cost = rng.exponential(mean_cost, (tasks, repeats)).sum(axis=1)
        lo, hi = stats.bootstrap_ratio_ci(cost, passes, 1000, rng)
        covered += lo <= truth <= hi
    assert covered / runs >= 0.93


def test_bootstrap_resampling_episodes_instead_of_tasks_would_be_too_narrow() -> None:
    """The reason for clustering: with correlated repeats, task-level intervals are wider."""
    rng = np.random.default_rng(7)
    rates = np.repeat(rng.choice([0.05, 0.95], 30), 1)
    outcomes = rng.random((30, 4)) < rates[:, None]
    cost = np.ones((30, 4))
    lo_t, hi_t = stats.bootstrap_ratio_ci(cost.sum(1), outcomes.sum(1).astype(float), 2000, rng)
    lo_e, hi_e = stats.bootstrap_ratio_ci(cost.ravel(), outcomes.ravel().astype(float), 2000, rng)
    assert hi_t - lo_t > 1.3 * (hi_e - lo_e)


def test_paired_difference_is_zero_for_identical_routes() -> None:
    num = np.array([1.0, 2.0, 3.0, 4.0])
    den = np.array([1.0, 1.0, 0.0, 2.0])
    lo, hi = stats.paired_ratio_diff_ci(num, den, num, den, 500, np.random.default_rng(1))
    assert lo == hi == 0.0
