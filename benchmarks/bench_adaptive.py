"""Benchmark: adaptive allocation against a fixed N = 10, on simulated plans drawn like real ones.

    .venv/bin/python benchmarks/bench_adaptive.py [--plans 300] [--seed 7] [--error-rate 0.05]

Each plan has 4–8 routes and two tiers of 8–16 tasks each. A route's mean pass rate is uniform on
0.1–0.9 (a tier of harder tasks lowers it); task difficulty is shared by every route (a hard task is
hard for all, so outcomes correlate across routes and repeats); cost per episode is log-uniform over
$0.01–$1 (100×), times a per-task scale (lognormal σ 0.5) and gamma noise, 1.5× for a failure. In
30 % of plans the cheapest eligible route gets a near-twin: same pass rate ±0.05, cost ×0.85–1.15.

Every episode of every repeat is drawn once, so both arms see the same outcomes: fixed uses N = 10
everywhere; adaptive uses N = 3, then one repeat per round for the (cell, tier) pairs
`perpass.analysis.allocation.race` keeps. Both then pick each tier's primary route by the decision's
rule (cheapest cost-per-pass among routes whose 95 % clustered pass-rate lower bound ≥ 0.5).
Target: the same primary per tier in ≥ 95 % of plans with ≤ 50 % of the episodes.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass

import numpy as np

from perpass.analysis import stats
from perpass.analysis.allocation import CellEvidence, RacingRule, race

MIN_PASS_RATE = 0.5
MIN_N, MAX_N = 3, 10
TIERS = {"T1": 0.0, "T2": -0.8}  # shift of every route's pass logit on the tier (T2 is harder)


@dataclass
class SimPlan:
    """Per (route, tier): passes and spend per task and repeat, shape (tasks, MAX_N)."""

    routes: list[str]
    passed: dict[tuple[str, str], np.ndarray]
    spent: dict[tuple[str, str], np.ndarray]
    twin: tuple[str, str] | None  # the near-twin pair, when the plan has one
    truth: dict[str, dict[str, tuple[float, float]]]  # tier -> route -> (pass rate, cost per pass)


def logit(p: np.ndarray | float) -> np.ndarray:
    return np.log(np.asarray(p) / (1 - np.asarray(p)))


def expit(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def draw_plan(rng: np.random.Generator) -> SimPlan:
    k_routes = int(rng.integers(4, 9))
    rates = rng.uniform(0.1, 0.9, k_routes)
    prices = 10 ** rng.uniform(-2, 0, k_routes)
    twin = None
    approx = prices * (1.5 - 0.5 * rates) / rates
    best = int(np.argmin(np.where(rates >= 0.6, approx, np.inf)))
    if rng.random() < 0.3 and np.isfinite(approx[best]):
        # the route cheapest per pass among those passing often enough gets a near-twin
        twin_at = 1 if best == 0 else 0
        rates[twin_at] = np.clip(rates[best] + rng.uniform(-0.05, 0.05), 0.1, 0.9)
        prices[twin_at] = prices[best] * rng.uniform(0.85, 1.15)
        twin = (f"r{best}", f"r{twin_at}")
    routes = [f"r{i}" for i in range(k_routes)]
    passed, spent, truth = {}, {}, {}
    for tier, shift in TIERS.items():
        k = int(rng.integers(8, 17))
        difficulty = rng.normal(0, 1.5, k)
        scale = np.exp(rng.normal(0, 0.5, k) - 0.125)
        truth[tier] = {}
        for r, name in enumerate(routes):
            p = expit(logit(rates[r]) + shift - difficulty + rng.normal(0, 0.5, k))
            ok = rng.random((k, MAX_N)) < p[:, None]
            cost = prices[r] * scale[:, None] * rng.gamma(2.0, 0.5, (k, MAX_N)) * np.where(ok, 1.0, 1.5)
            passed[(name, tier)], spent[(name, tier)] = ok.astype(np.float64), cost
            mean_cost = prices[r] * float((scale * (1.5 - 0.5 * p)).mean())
            truth[tier][name] = (float(p.mean()), mean_cost / float(p.mean()))
    return SimPlan(routes, passed, spent, twin, truth)


def evidence(plan: SimPlan, route: str, tier: str, n: int) -> CellEvidence:
    ok, cost = plan.passed[(route, tier)][:, :n], plan.spent[(route, tier)][:, :n]
    task = np.repeat(np.arange(ok.shape[0]), n)
    return CellEvidence.from_episodes(route, tier, task, ok.ravel(), cost.ravel(), ok.shape[0])


def primary(cells: list[CellEvidence]) -> str | None:
    """The decision's rule (analysis.decide): cheapest per pass among eligible routes."""
    eligible = [
        (stats.ratio(float(c.spent.sum()), float(c.passes.sum())), c.cell)
        for c in cells
        if stats.clustered_rate_ci(c.passes, c.episodes)[0] >= MIN_PASS_RATE
    ]
    return min(eligible)[1] if eligible else None


def adaptive(plan: SimPlan, rule: RacingRule) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], str]]:
    """Repeats each (route, tier) gets, and why the stopped ones stopped."""
    n = {(r, t): MIN_N for r in plan.routes for t in TIERS}
    stopped: dict[tuple[str, str], str] = {}
    for _ in range(MIN_N, MAX_N):
        cells = [evidence(plan, r, t, n[(r, t)]) for r in plan.routes for t in TIERS]
        for v in race(cells, rule, frozenset(stopped)):
            if not v.go_on:
                stopped[(v.cell, v.tier)] = v.kind
        open_ = [key for key in n if key not in stopped]
        if not open_:
            break
        for key in open_:
            n[key] += 1
    return n, stopped


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plans", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--error-rate", type=float, default=0.05)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    rule = RacingRule(error_rate=args.error_rate, min_pass_rate=MIN_PASS_RATE, min_repeats=MIN_N, max_repeats=MAX_N)
    start = time.perf_counter()
    agree = used = full = twins = twins_raced = 0
    kinds: dict[str, int] = {}
    differ = []
    for i in range(args.plans):
        plan = draw_plan(rng)
        n, stopped = adaptive(plan, rule)
        for kind in stopped.values():
            kinds[kind] = kinds.get(kind, 0) + 1
        same = True
        for tier in TIERS:
            fixed = primary([evidence(plan, r, tier, MAX_N) for r in plan.routes])
            adapt = primary([evidence(plan, r, tier, n[(r, tier)]) for r in plan.routes])
            if fixed != adapt:
                same = False
                differ.append(describe(i, plan, tier, fixed, adapt, n, stopped))
        agree += same
        if plan.twin:
            twins += len(TIERS)
            twins_raced += sum(all(n[(r, t)] == MAX_N for r in plan.twin) for t in TIERS)
        tasks = {t: plan.passed[(plan.routes[0], t)].shape[0] for t in TIERS}
        used += sum(n[(r, t)] * tasks[t] for r in plan.routes for t in TIERS)
        full += MAX_N * len(plan.routes) * sum(tasks.values())
    print(
        f"{time.strftime('%Y-%m-%d')}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"{args.plans} plans, error rate {args.error_rate}, N {MIN_N}→{MAX_N}"
    )
    print(f"same primary route per tier as fixed N = {MAX_N}: {agree / args.plans:.1%} of plans")
    print(f"episodes used: {used / full:.1%} of fixed N = {MAX_N} ({used} of {full})")
    print(
        f"near-twin plans: {twins // len(TIERS)}; in {twins_raced} of their {twins} tiers both twins raced to "
        f"N = {MAX_N} (in the others the pair was out of the running, or the gap was already wider than the "
        "remaining repeats could close)"
    )
    print("cells stopped, by reason: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    print(f"tiers where the primary differs ({len(differ)}):")
    for line in differ:
        print("  " + line)
    print(f"{time.perf_counter() - start:.0f} s")


def describe(
    i: int,
    plan: SimPlan,
    tier: str,
    fixed: str | None,
    adapt: str | None,
    n: dict[tuple[str, str], int],
    stopped: dict[tuple[str, str], str],
) -> str:
    def show(route: str | None) -> str:
        if route is None:
            return "none"
        rate, cpp = plan.truth[tier][route]
        why = f", stopped: {stopped[(route, tier)]}" if (route, tier) in stopped else ""
        return f"{route} (true pass {rate:.2f}, ${cpp:.3f}/pass, N={n[(route, tier)]}{why})"

    twin = f" [near-twins {plan.twin[0]}, {plan.twin[1]}]" if plan.twin else ""
    return f"plan {i} {tier}{twin}: fixed {show(fixed)}, adaptive {show(adapt)}"


if __name__ == "__main__":
    main()
