"""Interval estimates that hold at the 8–40 tasks teams run: pass rates, ratios, paired differences.

Every cost layer is a *ratio of per-task sums* (cost / tokens, cost / calls, cost / episodes,
cost incl. overheads / passes), and so is the pass rate (passes / episodes). Tasks are the clusters:
repeats of one task are correlated, so every interval here treats a task, not an episode, as the
unit of evidence. Why these intervals and not the percentile or BCa bootstrap (both under-cover at
8–16 tasks): docs/analysis.md, "Intervals", with the table of benchmarks/bench_coverage.py.

- pass rate: Wilson score interval on the *effective* number of episodes (episodes divided by the
  design effect measured between tasks), `clustered_rate_ci`;
- a ratio Σ num / Σ den: Fieller's pivot (x̄ − θ·ȳ) / se(θ), its quantiles taken from a studentized
  bootstrap over tasks, inverted for θ (`ratio_ci`); analytic with Student's t on tasks − 1 df where
  a bootstrap cannot reach the tail (`fieller_ci`, used by the adaptive stopping rule);
- a paired difference of two ratios on shared tasks: the two intervals above combined with the
  correlation of the estimates over the shared tasks (MOVER, `paired_diff_ci`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from perpass.analysis.money import money  # noqa: F401  (kept importable here; the formatter lives in money.py)
from perpass.analysis.tdist import t_quantile

Z95 = 1.959963984540054
INF = math.inf


def two_sided_z(level: float) -> float:
    return NormalDist().inv_cdf(1 - (1 - level) / 2)


# -- pass rates ----------------------------------------------------------------------------------


def wilson_rate(p: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion p seen on n trials (n may be an effective, fractional count)."""
    if n <= 0:
        return (0.0, 1.0)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(max(p * (1 - p), 0.0) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def wilson(passes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score 95 % interval for independent trials; (0, 1) when there is no evidence at all."""
    return wilson_rate(passes / n, n, z) if n > 0 else (0.0, 1.0)


def effective_episodes(passes: np.ndarray, episodes: np.ndarray) -> float:
    """Episodes' worth of independent evidence: Σ episodes / the design effect measured between tasks.

    The cluster-robust variance of p̂ = Σ passes / Σ episodes is Σ (passes_t − p̂·n_t)² / (k(k−1)·n̄²);
    a binomial on n_eff trials has the same variance. n_eff is kept within [tasks, episodes]: the
    repeats of a task add nothing (fully correlated) or count in full (independent), never more.
    With no pass or no failure at all the spread between tasks cannot be measured, so the cautious
    end (one trial per task) is taken: coding tasks are often always, or never, solved by a model.
    """
    k, total = len(passes), float(episodes.sum())
    if k == 0 or total <= 0:
        return 0.0
    p = float(passes.sum()) / total
    if k < 2 or p <= 0 or p >= 1:
        return float(k)
    mean_n = total / k
    var = float(((passes - p * episodes) ** 2).sum()) / (k * (k - 1) * mean_n**2)
    n_eff = p * (1 - p) / var if var > 0 else total
    return float(min(max(n_eff, k), total))


def clustered_rate_ci(passes: np.ndarray, episodes: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Pass-rate interval clustered by task (per-task counts in, one interval out)."""
    total = float(episodes.sum())
    if total <= 0:
        return (0.0, 1.0)
    p = float(passes.sum()) / total
    return wilson_rate(p, effective_episodes(passes, episodes), two_sided_z(level))


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one task: 1 - C(n-c, k) / C(n, k)."""
    if k > n:
        raise ValueError(f"k={k} > n={n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """pass^k for one task (all k attempts succeed): C(c, k) / C(n, k)."""
    if k > n:
        raise ValueError(f"k={k} > n={n}")
    return math.comb(c, k) / math.comb(n, k)


def pass_k_table(trials: list[int], successes: list[int]) -> dict[str, dict[str, float]]:
    """pass@k and pass^k averaged over tasks, for k = 1 .. max repeats (tasks with n >= k only)."""
    out: dict[str, dict[str, float]] = {"pass_at_k": {}, "pass_hat_k": {}}
    if not trials:
        return out
    for k in range(1, max(trials) + 1):
        pairs = [(n, c) for n, c in zip(trials, successes, strict=True) if n >= k]
        out["pass_at_k"][str(k)] = sum(pass_at_k(n, c, k) for n, c in pairs) / len(pairs)
        out["pass_hat_k"][str(k)] = sum(pass_hat_k(n, c, k) for n, c in pairs) / len(pairs)
    return out


def ratio(num: float, den: float) -> float:
    """num / den, with nothing in the denominator meaning infinity (never a division error)."""
    return num / den if den > 0 else INF


# -- the bootstrap over tasks --------------------------------------------------------------------


def resample_counts(n_tasks: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n_tasks) matrix: how often each task is drawn in each bootstrap resample."""
    draws = rng.integers(0, n_tasks, size=(n_boot, n_tasks))
    flat = (draws + (np.arange(n_boot) * n_tasks)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n_tasks).reshape(n_boot, n_tasks).astype(np.float64)


def quantiles(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval without interpolation, so infinite resamples stay infinite, not NaN."""
    alpha = (1 - level) / 2
    lo, hi = np.quantile(samples, [alpha, 1 - alpha], method="inverted_cdf")
    return (float(lo), float(hi))


def studentize(shift: np.ndarray, se: np.ndarray, floor: float) -> np.ndarray:
    """shift / se per resample. A resample whose tasks are all alike (se = 0: it drew one task over and
    over, or only passing tasks of a route that always passes them) borrows `floor`, one task's worth
    of the sample's spread, rather than claiming none: ±∞ there would make every bound infinite.
    0/0 (no spread anywhere) is 0."""
    se = np.where(se > 0, se, floor)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, shift / np.where(se > 0, se, 1.0), np.sign(shift) * INF)
    return np.where(np.isnan(t), 0.0, t)


# -- ratios: Fieller's pivot, calibrated by the bootstrap or by Student's t ---------------------


@dataclass(frozen=True)
class RatioMoments:
    """Means over k tasks of x (numerator) and y (denominator), and the variances and covariance of
    those means (sample (co)variance / k), from deviations so equal tasks give exactly 0."""

    k: int
    x: float
    y: float
    vx: float
    vy: float
    cxy: float

    @classmethod
    def of(cls, num: np.ndarray, den: np.ndarray) -> RatioMoments:
        k = len(num)
        x, y = float(num.mean()), float(den.mean())
        dx, dy = num - x, den - y
        scale = k * (k - 1)
        return cls(k, x, y, float(dx @ dx) / scale, float(dy @ dy) / scale, float(dx @ dy) / scale)

    def pivot_quadratic(self, q: float) -> tuple[float, float, float]:
        """(A, B, C) of (x̄ − θȳ)² − q²·se(θ)² = Aθ² + Bθ + C, se(θ)² = vx − 2θ·cxy + θ²·vy."""
        q2 = q * q
        return (self.y**2 - q2 * self.vy, -2 * (self.x * self.y - q2 * self.cxy), self.x**2 - q2 * self.vx)


def invert_pivot(m: RatioMoments, q_lo: float, q_hi: float) -> tuple[float, float]:
    """Every θ ≥ 0 with q_lo ≤ (x̄ − θȳ) / se(θ) ≤ q_hi.

    The pivot falls as θ rises, so q_hi gives the lower bound and q_lo the upper one. Where ȳ is not
    clearly above 0 at that quantile (A ≤ 0: the pass count might be zero) the set has no end:
    the bound is ∞ (or 0 below), Fieller's honest answer for a route that barely passes.
    """
    theta = m.x / m.y
    bounds = []
    for q, side in ((max(q_hi, 0.0), -1.0), (max(-q_lo, 0.0), 1.0)):
        if q == 0:
            bounds.append(theta)
            continue
        a, b, c = m.pivot_quadratic(q) if math.isfinite(q) else (-1.0, 0.0, 0.0)
        if a <= 0:
            bounds.append(0.0 if side < 0 else INF)
            continue
        root = math.sqrt(max(b * b - 4 * a * c, 0.0))
        bounds.append((-b + side * root) / (2 * a))
    return (max(bounds[0], 0.0), max(bounds[1], 0.0))


def ratio_ci(counts: np.ndarray, num: np.ndarray, den: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Interval of Σ num / Σ den over tasks (the rows), from a given resample matrix (shared
    resamples keep many questions fast and consistent).

    Studentized bootstrap of Fieller's pivot: per resample T* = mean*(u) / se*(u) with u = x − θ̂·y per
    task, the resample's own spread in se*; the quantiles of T* take the place of Student's t in
    Fieller's interval, so skewed costs give a skewed interval. (∞, ∞) without any denominator (no
    pass); (0, ∞) from a single task (no spread to measure).
    """
    k = len(num)
    if k == 0 or float(den.sum()) <= 0:
        return (INF, INF)
    if k < 2:
        return (0.0, INF)
    m = RatioMoments.of(num, den)
    theta = m.x / m.y
    u = num - theta * den
    u = np.where(np.abs(u) <= 1e-12 * (np.abs(num) + theta * np.abs(den)), 0.0, u)  # rounding is not spread
    mean, square = (counts @ np.column_stack([u, u * u]) / k).T
    se = np.sqrt(np.maximum(square - mean * mean, 0.0) / (k - 1))
    se_hat = math.sqrt(float(u @ u) / (k * (k - 1)))
    q_lo, q_hi = quantiles(studentize(mean, se, se_hat / math.sqrt(k)), level)
    return invert_pivot(m, q_lo, q_hi)


def fieller_ci(num: np.ndarray, den: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Fieller's interval of Σ num / Σ den with Student's t on tasks − 1 degrees of freedom.

    Nothing is resampled, so any level is exact to compute: the stopping rule's corrected levels
    (tails of 1e-4) lie beyond what 2,000 resamples can resolve.
    """
    k = len(num)
    if k == 0 or float(den.sum()) <= 0:
        return (INF, INF)
    if k < 2:
        return (0.0, INF)
    q = t_quantile(1 - (1 - level) / 2, k - 1)
    return invert_pivot(RatioMoments.of(num, den), -q, q)


def per_pass_ci(
    spent: np.ndarray,
    passes: np.ndarray,
    episodes: np.ndarray,
    level: float = 0.95,
    counts: np.ndarray | None = None,
) -> tuple[float, float]:
    """Cost-per-pass interval: Σ spent / Σ passes per task (bootstrap-calibrated Fieller with `counts`,
    Student's t without), widened to hold what the pass-rate interval alone allows,
    [cost per episode ÷ upper pass rate, ÷ lower pass rate].

    The widening matters where tasks show no spread: a route that passed every task every time has a
    Fieller interval of zero width, yet its pass rate is only known to within Wilson's interval.
    With no pass at all it still gives a finite lower bound (∞ above).
    """
    lo, hi = ratio_ci(counts, spent, passes, level) if counts is not None else fieller_ci(spent, passes, level)
    total = float(episodes.sum())
    if total <= 0:
        return (lo, hi)
    rate_lo, rate_hi = clustered_rate_ci(passes, episodes, level)
    per_episode = float(spent.sum()) / total
    if float(passes.sum()) <= 0:
        lo = INF
    return (min(lo, ratio(per_episode, rate_hi)), max(hi, ratio(per_episode, rate_lo)))


def bootstrap_ratio_ci(
    num: np.ndarray, den: np.ndarray, n_boot: int, rng: np.random.Generator, level: float = 0.95
) -> tuple[float, float]:
    """`ratio_ci` with fresh resamples of the tasks (the rows)."""
    if len(num) == 0:
        return (INF, INF)
    return ratio_ci(resample_counts(len(num), n_boot, rng), num, den, level)


# -- paired differences of two ratios on the same tasks ------------------------------------------


def boot_ratios(counts: np.ndarray, num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Σ num / Σ den for every resample; +inf where a resample has no denominator (no pass)."""
    top, bottom = counts @ num, counts @ den
    return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), INF)


def influence_correlation(num_a: np.ndarray, den_a: np.ndarray, num_b: np.ndarray, den_b: np.ndarray) -> float:
    """Correlation over tasks of the two ratios' linearised influences x − R·y (how far shared task
    difficulty moves both estimates together)."""
    wa = num_a - ratio(float(num_a.sum()), float(den_a.sum())) * den_a
    wb = num_b - ratio(float(num_b.sum()), float(den_b.sum())) * den_b
    scale = math.sqrt(float((wa * wa).sum()) * float((wb * wb).sum()))
    return float((wa * wb).sum()) / scale if scale > 0 else 0.0


def mover_diff(a: tuple[float, float, float], b: tuple[float, float, float], r: float) -> tuple[float, float]:
    """Interval of A − B from (estimate, lower, upper) of each and the correlation r of the estimates."""

    def reach(near: float, far: float) -> float:  # √(d₁² + d₂² − 2r·d₁·d₂)
        return math.sqrt(max(near * near + far * far - 2 * r * near * far, 0.0))

    (ea, lo_a, hi_a), (eb, lo_b, hi_b) = a, b
    diff = ea - eb
    lo = -INF if math.isinf(hi_b) else diff - reach(ea - lo_a, hi_b - eb)
    hi = INF if math.isinf(hi_a) else diff + reach(hi_a - ea, eb - lo_b)
    return (lo, hi)


def paired_diff_ci(
    counts: np.ndarray,
    num_a: np.ndarray,
    den_a: np.ndarray,
    num_b: np.ndarray,
    den_b: np.ndarray,
    level: float = 0.95,
    intervals: tuple[tuple[float, float], tuple[float, float]] | None = None,
) -> tuple[float, float]:
    """Interval of ratio_a − ratio_b over shared tasks (the rows).

    MOVER (Zou & Donner's method of variance estimates recovery; Newcombe's for two proportions):
    each ratio's own interval — `intervals` when the caller has the right kind for its layer
    (clustered Wilson for a pass rate), else `ratio_ci` — is combined with the correlation of the two
    estimates over the shared tasks. A bootstrap-t of the difference itself covered only 86 % at
    12–16 tasks with pass rates 0.05–0.5: its linearised error misses how far a ratio moves when few
    tasks pass. Identical routes differ by exactly 0. Where a route has no pass the difference is
    infinite or undefined and the percentile interval of the resampled differences is given.
    """
    k = len(num_a)
    if k == 0:
        return (-INF, INF)
    if np.array_equal(num_a, num_b) and np.array_equal(den_a, den_b):
        return (0.0, 0.0)
    ra, rb = ratio(float(num_a.sum()), float(den_a.sum())), ratio(float(num_b.sum()), float(den_b.sum()))
    if math.isinf(ra) or math.isinf(rb):
        a, b = boot_ratios(counts, num_a, den_a), boot_ratios(counts, num_b, den_b)
        with np.errstate(invalid="ignore"):
            return quantiles(np.where(np.isinf(a) & np.isinf(b), 0.0, a - b), level)
    ci_a, ci_b = intervals or (ratio_ci(counts, num_a, den_a, level), ratio_ci(counts, num_b, den_b, level))
    return mover_diff((ra, *ci_a), (rb, *ci_b), influence_correlation(num_a, den_a, num_b, den_b))


def paired_ratio_diff_ci(
    num_a: np.ndarray,
    den_a: np.ndarray,
    num_b: np.ndarray,
    den_b: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
    level: float = 0.95,
) -> tuple[float, float]:
    """`paired_diff_ci` with fresh resamples of the shared tasks."""
    if len(num_a) == 0:
        return (-INF, INF)
    return paired_diff_ci(resample_counts(len(num_a), n_boot, rng), num_a, den_a, num_b, den_b, level)


def finite_or_none(x: float) -> float | None:
    """JSON has no infinity: infinite numbers become None next to a text that says why."""
    return None if x is None or math.isinf(x) or math.isnan(x) else float(x)
