"""Benchmark: do the 95 % intervals cover the truth at the task counts teams run?

    .venv/bin/python benchmarks/bench_coverage.py [--runs 1000] [--boot 2000] [--tasks 8,12,16,40,80]

Simulated runs of N = 3 repeats over k tasks, with per-task random effects: each task has its own
pass probability (uniform over the pass-rate range: difficulty varies, repeats of a task are
correlated) and its own cost scale (lognormal, σ = 0.5), shared by the two routes of a run. Each
episode costs scale × noise × (1.5 if it failed: failures run to the turn limit), the noise light
(gamma, shape 2) or heavy (lognormal, σ = 1). Route B passes 0.8× as often as A and costs 2× per
episode, on the same tasks. The truths are known in closed form (population E[cost] / E[pass]).

Per cell it prints how often the interval holds the truth, for cost-per-pass (`per_pass_ci`), the pass
rate (`clustered_rate_ci`) and the paired difference of cost-per-pass B − A (`paired_diff_ci`), next
to what perpass used before (percentile bootstrap; Wilson over episodes as if independent), and
names the cells below the 93 % target (`COVERAGE_TARGET`). With R runs a coverage of 95 % is read
within ±1.96·√(0.95·0.05/R): ±1.4 points at 1,000 runs.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass

import numpy as np

from perpass.analysis import stats

PASS_RANGES = ((0.05, 0.5), (0.3, 0.9), (0.7, 1.0))  # the last: strong models, beyond the brief
TAILS = ("light", "heavy")
REPEATS = 3
FAIL_COST = 1.5  # a failed episode costs this much more than a passing one (in expectation)
TASK_SIGMA = 0.5  # lognormal σ of the per-task cost scale
HEAVY_SIGMA = 1.0  # lognormal σ of the per-episode cost noise in the heavy tail
B_RATE, B_PRICE = 0.8, 2.0  # route B: pass probability × 0.8, cost per episode × 2
TARGET = 0.93


@dataclass
class Cell:
    tasks: int
    pass_range: tuple[float, float]
    tail: str

    @property
    def name(self) -> str:
        lo, hi = self.pass_range
        return f"{self.tasks} tasks, pass {lo}–{hi}, {self.tail}"


def truth_per_pass(mean_rate: float, price: float = 1.0) -> float:
    """E[cost per episode] / E[pass] over the task population (scale and noise have mean 1)."""
    return price * (FAIL_COST - (FAIL_COST - 1) * mean_rate) / mean_rate


def simulate_route(
    rng: np.random.Generator, rates: np.ndarray, scale: np.ndarray, tail: str, price: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-task (cost, passes) of one route over REPEATS episodes per task."""
    shape = (*rates.shape, REPEATS)
    passed = rng.random(shape) < rates[..., None]
    if tail == "light":
        noise = rng.gamma(2.0, 0.5, shape)
    else:
        noise = np.exp(rng.normal(0.0, HEAVY_SIGMA, shape) - HEAVY_SIGMA**2 / 2)
    cost = price * scale[..., None] * noise * np.where(passed, 1.0, FAIL_COST)
    return cost.sum(-1), passed.sum(-1).astype(np.float64)


def run_cell(cell: Cell, runs: int, n_boot: int, rng: np.random.Generator) -> dict[str, float]:
    k = cell.tasks
    lo_rate, hi_rate = cell.pass_range
    mean_rate = (lo_rate + hi_rate) / 2
    truth_a = truth_per_pass(mean_rate)
    truth_diff = truth_per_pass(mean_rate * B_RATE, B_PRICE) - truth_a
    rates = rng.uniform(lo_rate, hi_rate, (runs, k))
    scale = np.exp(rng.normal(0.0, TASK_SIGMA, (runs, k)) - TASK_SIGMA**2 / 2)
    cost_a, passes_a = simulate_route(rng, rates, scale, cell.tail, 1.0)
    cost_b, passes_b = simulate_route(rng, rates * B_RATE, scale, cell.tail, B_PRICE)
    episodes = np.full(k, float(REPEATS))
    counts = stats.resample_counts(k, n_boot, rng)
    hits = dict.fromkeys(("per_pass", "pass_rate", "paired", "per_pass_before", "pass_rate_before"), 0)
    unbounded = 0
    for r in range(runs):
        ci_a = stats.per_pass_ci(cost_a[r], passes_a[r], episodes, counts=counts)
        hits["per_pass"] += ci_a[0] <= truth_a <= ci_a[1]
        unbounded += ci_a[1] == stats.INF
        lo, hi = stats.quantiles(stats.boot_ratios(counts, cost_a[r], passes_a[r]))
        hits["per_pass_before"] += lo <= truth_a <= hi
        lo, hi = stats.clustered_rate_ci(passes_a[r], episodes)
        hits["pass_rate"] += lo <= mean_rate <= hi
        lo, hi = stats.wilson(int(passes_a[r].sum()), k * REPEATS)
        hits["pass_rate_before"] += lo <= mean_rate <= hi
        ci_b = stats.per_pass_ci(cost_b[r], passes_b[r], episodes, counts=counts)  # as the analysis pairs them
        lo, hi = stats.paired_diff_ci(counts, cost_b[r], passes_b[r], cost_a[r], passes_a[r], intervals=(ci_b, ci_a))
        hits["paired"] += lo <= truth_diff <= hi
    out = {key: value / runs for key, value in hits.items()}
    out["unbounded"] = unbounded / runs
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000, help="simulated runs per cell (>= 400)")
    parser.add_argument("--boot", type=int, default=2000)
    parser.add_argument("--tasks", default="8,12,16,40,80")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    cells = [
        Cell(int(k), pr, tail) for pr in PASS_RANGES for tail in TAILS for k in args.tasks.split(",")
    ]
    start = time.perf_counter()
    print(
        f"{time.strftime('%Y-%m-%d')}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"{args.runs} runs per cell, N = {REPEATS}, {args.boot} resamples; coverage of 95 % intervals (%)"
    )
    print()
    print(
        "| tasks | pass rates | cost tail | cost-per-pass | pass rate | paired difference | "
        "cost-per-pass before (percentile) | pass rate before (Wilson on episodes) | upper bound ∞ |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    short = []
    for cell in cells:
        got = run_cell(cell, args.runs, args.boot, rng)
        for key in ("per_pass", "pass_rate", "paired"):
            if got[key] < TARGET:
                short.append(f"{cell.name}: {key} {got[key]:.1%}")
        lo, hi = cell.pass_range
        print(
            f"| {cell.tasks} | {lo}–{hi} | {cell.tail} | {got['per_pass']:.1%} | {got['pass_rate']:.1%} | "
            f"{got['paired']:.1%} | {got['per_pass_before']:.1%} | {got['pass_rate_before']:.1%} | "
            f"{got['unbounded']:.1%} |",
            flush=True,
        )
    print()
    print(f"below the {TARGET:.0%} target: " + ("; ".join(short) if short else "none"))
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
