"""Interval estimates: Wilson for pass rates, cluster bootstrap (over tasks) for ratios, pass@k.

Every cost layer is a *ratio of per-task sums* (cost / tokens, cost / calls, cost / episodes,
cost incl. overheads / passes), so one vectorised bootstrap serves them all. Tasks are the
clusters: repeats of one task are correlated, so resampling episodes would understate the spread.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from perpass.analysis.money import money  # noqa: F401  (kept importable here; the formatter lives in money.py)

Z95 = 1.959963984540054
INF = math.inf


def wilson(passes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score 95 % interval for a pass rate; (0, 1) when there is no evidence at all."""
    if n <= 0:
        return (0.0, 1.0)
    p = passes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


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


def resample_counts(n_tasks: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n_tasks) matrix: how often each task is drawn in each bootstrap resample."""
    draws = rng.integers(0, n_tasks, size=(n_boot, n_tasks))
    flat = (draws + (np.arange(n_boot) * n_tasks)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n_tasks).reshape(n_boot, n_tasks).astype(np.float64)


def boot_ratios(counts: np.ndarray, num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Σ num / Σ den for every resample; +inf where a resample has no denominator (no pass)."""
    top = counts @ num
    bottom = counts @ den
    return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), INF)


def quantiles(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval without interpolation, so infinite resamples stay infinite, not NaN."""
    alpha = (1 - level) / 2
    lo, hi = np.quantile(samples, [alpha, 1 - alpha], method="inverted_cdf")
    return (float(lo), float(hi))


def bootstrap_ratio_ci(
    num: np.ndarray, den: np.ndarray, n_boot: int, rng: np.random.Generator, level: float = 0.95
) -> tuple[float, float]:
    """95 % cluster-bootstrap interval of Σ num / Σ den, resampling tasks (the rows).

    BCa (bias-corrected and accelerated, jackknife over tasks): ratio estimators are skewed and
    the plain percentile interval under-covers with a few dozen tasks. Falls back to the plain
    percentile interval when a resample has no pass (infinite) or the estimate is degenerate.
    """
    if len(num) == 0:
        return (INF, INF)
    return ratio_ci(resample_counts(len(num), n_boot, rng), num, den, level)


def ratio_ci(
    counts: np.ndarray, num: np.ndarray, den: np.ndarray, level: float = 0.95
) -> tuple[float, float]:
    """The same, from a given resample matrix (shared resamples keep many questions fast)."""
    boots = boot_ratios(counts, num, den)
    return bca_interval(boots, num, den, level) or quantiles(boots, level)


def bca_interval(
    boots: np.ndarray, num: np.ndarray, den: np.ndarray, level: float
) -> tuple[float, float] | None:
    total_num, total_den = float(num.sum()), float(den.sum())
    loo_den = total_den - den
    if len(num) < 3 or total_den <= 0 or not np.isfinite(boots).all() or (loo_den <= 0).any():
        return None
    theta = total_num / total_den
    below = float(np.mean(boots < theta)) + 0.5 * float(np.mean(boots == theta))
    if not 0 < below < 1:
        return None
    normal = NormalDist()
    z0 = normal.inv_cdf(below)
    jack = (total_num - num) / loo_den
    spread = jack.mean() - jack
    denom = 6.0 * float((spread**2).sum()) ** 1.5
    accel = float((spread**3).sum()) / denom if denom > 0 else 0.0
    alpha = (1 - level) / 2
    probs = []
    for z in (normal.inv_cdf(alpha), normal.inv_cdf(1 - alpha)):
        shifted = z0 + (z0 + z) / (1 - accel * (z0 + z))
        probs.append(min(max(normal.cdf(shifted), 0.0), 1.0))
    lo, hi = np.quantile(boots, probs, method="inverted_cdf")
    return (float(lo), float(hi))


def paired_ratio_diff_ci(
    num_a: np.ndarray,
    den_a: np.ndarray,
    num_b: np.ndarray,
    den_b: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
    level: float = 0.95,
) -> tuple[float, float]:
    """Interval of ratio_a − ratio_b, both resampled with the same tasks (rows are shared tasks)."""
    if len(num_a) == 0:
        return (-INF, INF)
    return paired_diff_ci(resample_counts(len(num_a), n_boot, rng), num_a, den_a, num_b, den_b, level)


def paired_diff_ci(
    counts: np.ndarray,
    num_a: np.ndarray,
    den_a: np.ndarray,
    num_b: np.ndarray,
    den_b: np.ndarray,
    level: float = 0.95,
) -> tuple[float, float]:
    a = boot_ratios(counts, num_a, den_a)
    b = boot_ratios(counts, num_b, den_b)
    both_inf = np.isinf(a) & np.isinf(b)
    with np.errstate(invalid="ignore"):
        diff = np.where(both_inf, 0.0, a - b)
    return quantiles(diff, level)


def finite_or_none(x: float) -> float | None:
    """JSON has no infinity: infinite numbers become None next to a text that says why."""
    return None if x is None or math.isinf(x) or math.isnan(x) else float(x)
