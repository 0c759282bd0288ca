"""Wilson against known values, pass@k / pass^k against enumeration, bootstrap coverage by simulation."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest

from perpass.analysis import stats
from perpass.analysis.tdist import t_quantile


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


def simulated_runs(rng: np.random.Generator, runs: int, tasks: int, lo: float, hi: float, sigma: float):
    """Per-task (cost, passes) of N = 3 over `tasks` tasks: task pass rates uniform on [lo, hi],
    task cost scale lognormal(0.5), episode cost lognormal(sigma), failures 1.5x. Truth in closed form."""
    rates = rng.uniform(lo, hi, (runs, tasks))
    scale = np.exp(rng.normal(0, 0.5, (runs, tasks)) - 0.125)
    passed = rng.random((runs, tasks, 3)) < rates[..., None]
    noise = np.exp(rng.normal(0, sigma, passed.shape) - sigma**2 / 2)
    cost = (scale[..., None] * noise * np.where(passed, 1.0, 1.5)).sum(-1)
    mean_rate = (lo + hi) / 2
    return cost, passed.sum(-1).astype(float), (1.5 - 0.5 * mean_rate) / mean_rate, mean_rate


def test_cost_per_pass_interval_covers_at_12_tasks_with_heavy_tailed_costs() -> None:
    """Where the percentile bootstrap covered 88-91 %: 12 tasks, lognormal (σ = 1) costs."""
    rng = np.random.default_rng(2024)
    cost, passes, truth, _ = simulated_runs(rng, 600, 12, 0.3, 0.9, 1.0)
    counts = stats.resample_counts(12, 1000, rng)
    covered = [stats.ratio_ci(counts, cost[r], passes[r]) for r in range(600)]
    assert np.mean([lo <= truth <= hi for lo, hi in covered]) >= 0.93


def test_clustered_pass_rate_covers_where_wilson_on_episodes_does_not() -> None:
    rng = np.random.default_rng(5)
    _, passes, _, truth = simulated_runs(rng, 800, 16, 0.05, 0.95, 0.5)  # wide spread: strong clustering
    episodes = np.full(16, 3.0)
    clustered = np.mean([lo <= truth <= hi for lo, hi in (stats.clustered_rate_ci(p, episodes) for p in passes)])
    naive = np.mean([lo <= truth <= hi for lo, hi in (stats.wilson(int(p.sum()), 48) for p in passes)])
    assert clustered >= 0.93 and naive < 0.9


def test_paired_difference_covers_at_16_tasks_with_low_pass_rates() -> None:
    """Route B passes 0.8x as often as A and costs 2x, on the same tasks (shared difficulty and cost)."""
    rng = np.random.default_rng(9)
    runs, tasks = 600, 16
    rates = rng.uniform(0.05, 0.5, (runs, tasks))
    scale = np.exp(rng.normal(0, 0.5, (runs, tasks)) - 0.125)

    def route(p: np.ndarray, price: float) -> tuple[np.ndarray, np.ndarray]:
        ok = rng.random((runs, tasks, 3)) < p[..., None]
        cost = price * scale[..., None] * rng.gamma(2.0, 0.5, ok.shape) * np.where(ok, 1.0, 1.5)
        return cost.sum(-1), ok.sum(-1).astype(float)

    (xa, ya), (xb, yb) = route(rates, 1.0), route(0.8 * rates, 2.0)
    truth = 2 * (1.5 - 0.5 * 0.22) / 0.22 - (1.5 - 0.5 * 0.275) / 0.275
    counts = stats.resample_counts(tasks, 1000, rng)
    cis = [stats.paired_diff_ci(counts, xb[r], yb[r], xa[r], ya[r]) for r in range(runs)]
    assert np.mean([lo <= truth <= hi for lo, hi in cis]) >= 0.93


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


@pytest.mark.parametrize(
    "p, df, expected",
    [(0.975, 1, 12.7062), (0.975, 7, 2.3646), (0.975, 30, 2.0423), (0.995, 11, 3.1058), (0.9995, 7, 5.4079),
     (0.025, 4, -2.7764), (0.6, 2, 0.2887)],
)
def test_t_quantile_matches_the_tables(p: float, df: int, expected: float) -> None:
    assert t_quantile(p, df) == pytest.approx(expected, abs=2e-4)


def test_t_quantile_tends_to_the_normal_and_refuses_nonsense() -> None:
    assert t_quantile(0.975, 100_000) == pytest.approx(1.95999, abs=1e-4)
    assert t_quantile(0.5, 3) == 0.0
    with pytest.raises(ValueError):
        t_quantile(1.0, 3)
    with pytest.raises(ValueError):
        t_quantile(0.9, 0)


def test_effective_episodes_runs_from_tasks_to_episodes() -> None:
    three = np.full(6, 3.0)
    # every task passed once in three: no spread between tasks, repeats count in full
    assert stats.effective_episodes(np.ones(6), three) == 18
    # tasks always or never solved: repeats add nothing, one trial per task
    assert stats.effective_episodes(np.array([3.0, 3, 3, 0, 0, 0]), three) == 6
    # no pass, or nothing but passes: the spread cannot be seen, so the cautious end
    assert stats.effective_episodes(np.zeros(6), three) == 6
    assert stats.effective_episodes(three, three) == 6
    assert stats.effective_episodes(np.array([2.0]), np.array([3.0])) == 1  # one task


def test_clustered_pass_rate_edge_cases() -> None:
    three = np.full(8, 3.0)
    assert stats.clustered_rate_ci(np.zeros(8), three) == pytest.approx(stats.wilson(0, 8))
    assert stats.clustered_rate_ci(three, three) == pytest.approx(stats.wilson(8, 8))
    assert stats.clustered_rate_ci(np.ones(8), three) == pytest.approx(stats.wilson(8, 24))
    assert stats.clustered_rate_ci(np.array([]), np.array([])) == (0.0, 1.0)
    lo, hi = stats.clustered_rate_ci(np.array([3.0]), np.array([3.0]))  # one task: one trial's worth
    assert (lo, hi) == pytest.approx(stats.wilson(1, 1))


def test_ratio_interval_edge_cases() -> None:
    counts = stats.resample_counts(5, 500, np.random.default_rng(0))
    cost = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert stats.ratio_ci(counts, cost, np.zeros(5)) == (math.inf, math.inf)  # no pass
    assert stats.ratio_ci(counts[:, :1] * 5, cost[:1], np.ones(1)) == (0.0, math.inf)  # one task
    assert stats.ratio_ci(counts, np.full(5, 2.0), np.full(5, 4.0)) == (0.5, 0.5)  # no spread
    assert stats.ratio_ci(counts, np.zeros(5), np.ones(5)) == (0.0, 0.0)  # free route
    lo, hi = stats.ratio_ci(counts, cost, np.array([1.0, 0.0, 0.0, 0.0, 0.0]))  # one pass in five tasks
    assert lo <= 15.0 and hi == math.inf


def test_fieller_with_a_constant_denominator_is_the_t_interval_of_the_mean() -> None:
    x = np.array([1.0, 4.0, 2.0, 8.0, 5.0, 3.0])
    lo, hi = stats.fieller_ci(x, np.ones(6))
    half = t_quantile(0.975, 5) * x.std(ddof=1) / math.sqrt(6)
    assert (lo, hi) == pytest.approx((x.mean() - half, x.mean() + half))


def test_per_pass_interval_keeps_the_pass_rate_uncertainty_when_tasks_show_no_spread() -> None:
    counts = stats.resample_counts(8, 500, np.random.default_rng(0))
    three = np.full(8, 3.0)
    lo, hi = stats.per_pass_ci(np.full(8, 3.0), three, three, counts=counts)  # $1 per episode, all passed
    assert lo == pytest.approx(1.0) and hi == pytest.approx(1 / stats.wilson(8, 8)[0])
    lo, hi = stats.per_pass_ci(np.full(8, 3.0), np.zeros(8), three, counts=counts)  # no pass
    assert lo == pytest.approx(1 / stats.wilson(0, 8)[1]) and hi == math.inf


def test_paired_difference_edge_cases() -> None:
    counts = stats.resample_counts(4, 300, np.random.default_rng(2))
    num, den = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 1.0, 2.0, 2.0])
    lo, hi = stats.paired_diff_ci(counts, num, np.zeros(4), num, den)  # A never passes: A − B is +∞
    assert lo == hi == math.inf
    lo, hi = stats.paired_diff_ci(counts[:, :1] * 4, num[:1], den[:1], 2 * num[:1], den[:1])  # one task
    assert (lo, hi) == (-math.inf, math.inf)
    counts = stats.resample_counts(8, 500, np.random.default_rng(3))
    num, den = np.array([1.0, 2.0, 3.0, 4.0, 2.5, 1.5, 3.5, 2.0]), np.array([1.0, 1, 2, 2, 1, 1, 2, 1])
    lo, hi = stats.paired_diff_ci(counts, 3 * num, den, num, den)  # A costs 3x on every task
    assert 0 < lo <= 2 * num.sum() / den.sum() <= hi < math.inf
