"""The four cost layers per route (and per route × tier), from per-task sums.

per-token  = Σ cost / Σ tokens × 1e6   ($ per 1M tokens at the route's own measured mix;
             for local routes this is the effective price from measured throughput)
per-call   = Σ cost / Σ calls
per-episode= Σ cost / Σ episodes
per-pass   = Σ (cost + failure overheads) / Σ passes (ratio estimator), with the retry policy
             applied per task: a task with pass rate p tried up to m times costs
             a·(1−(1−p)^m)/p (m·a when p = 0) and passes with probability 1−(1−p)^m.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from perpass.analysis import stats
from perpass.analysis.money import money
from perpass.analysis.results import Layer, LayerSummary
from perpass.analysis.store_data import StoreData

LAYERS: tuple[Layer, ...] = ("per_token", "per_call", "per_episode", "per_pass")
# benchmarks/bench_coverage.py checks the intervals from 8 tasks up (docs/analysis.md, "Coverage").
COVERAGE_CHECKED_FROM_TASKS = 8


@dataclass(frozen=True)
class ShortCoverage:
    """Runs like these (task count, pass rate) held their 95 % intervals less often than the 93 % target."""

    min_tasks: int
    max_tasks: int
    min_rate: float
    measured: str


# From the coverage table in docs/analysis.md (2026-12-02, 1,500 runs per cell): 8-12 tasks at pass
# rates 0.7-1.0 held 92.5-92.9 % (cost per pass with heavy-tailed costs; pass rate with light ones).
SHORT_COVERAGE = (ShortCoverage(8, 15, 0.7, "92.5–92.9 %"),)
LAYER_TITLES = {
    "per_token": "$ / 1M tokens",
    "per_call": "$ / call",
    "per_episode": "$ / episode",
    "per_pass": "$ / pass",
}


@dataclass
class TaskTable:
    """Per-task sums for one route (optionally one tier); rows are `tasks` (indices into task_ids)."""

    tasks: np.ndarray
    n: np.ndarray
    passes: np.ndarray
    cost: np.ndarray
    overhead: np.ndarray
    calls: np.ndarray
    tokens: np.ndarray
    wall: np.ndarray
    decode_tokens: np.ndarray
    decode_seconds: np.ndarray
    false_done: np.ndarray
    max_attempts: int

    def layer(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(numerator, denominator) per task, so that the layer is Σ num / Σ den."""
        if name == "per_token":
            return self.cost, self.tokens / 1e6
        if name == "per_call":
            return self.cost, self.calls
        if name == "per_episode":
            return self.cost, self.n
        if name == "per_pass":
            return self.pass_terms()
        if name == "pass_rate":
            return self.passes, self.n
        if name == "wall_s":
            return self.wall, self.n
        if name == "decode_tok_s":
            return self.decode_tokens, self.decode_seconds
        raise KeyError(name)

    def pass_terms(self) -> tuple[np.ndarray, np.ndarray]:
        m = self.max_attempts
        spent = self.cost + self.overhead
        if m == 1:
            return spent, self.passes
        p = self.passes / self.n
        solved = 1.0 - (1.0 - p) ** m
        attempts = np.where(p > 0, solved / np.where(p > 0, p, 1.0), float(m))
        return spent * attempts, self.n * solved

    def interval(self, name: str, counts: np.ndarray, level: float = 0.95) -> tuple[float, float]:
        """The layer's interval over tasks, each layer with the method that holds for it
        (`counts`: the shared bootstrap resamples for this many tasks)."""
        if name == "pass_rate":
            return stats.clustered_rate_ci(self.passes, self.n, level)
        if name == "per_pass" and self.max_attempts == 1:
            return stats.per_pass_ci(self.cost + self.overhead, self.passes, self.n, level, counts)
        num, den = self.layer(name)
        return stats.ratio_ci(counts, num, den, level)

    def value(self, name: str) -> float:
        num, den = self.layer(name)
        return stats.ratio(float(num.sum()), float(den.sum()))

    def subset(self, keep: np.ndarray) -> TaskTable:
        fields = {k: (v[keep] if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()}
        return TaskTable(**fields)


def task_table(
    data: StoreData,
    costs: np.ndarray,
    overheads: np.ndarray,
    route: int,
    tier: str | None,
    max_attempts: int,
    keep: np.ndarray | None = None,
) -> TaskTable:
    """Per-task sums of one route's valid episodes (one tier, or all); `keep` narrows the episodes
    further (the adaptive stopping rule looks at one run's episodes up to a repeat)."""
    sel = (data.route == route) & ~data.infra
    if tier is not None:
        sel &= data.tier == tier
    if keep is not None:
        sel &= keep
    t = data.task[sel]
    size = len(data.task_ids)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(t, weights=values[sel].astype(np.float64), minlength=size)

    n = np.bincount(t, minlength=size).astype(np.float64)
    keep = n > 0
    false_done = data.submitted & ~data.passed
    table = TaskTable(
        tasks=np.arange(size),
        n=n,
        passes=total(data.passed),
        cost=total(costs),
        overhead=total(overheads),
        calls=total(data.calls),
        tokens=total(data.prompt + data.completion),
        wall=total(data.wall_s),
        decode_tokens=total(data.decode_tokens),
        decode_seconds=total(data.decode_seconds),
        false_done=total(false_done),
        max_attempts=max_attempts,
    )
    # Local servers without decode timings: completion tokens over call time is the honest fallback.
    if table.decode_seconds.sum() <= 0:
        table.decode_tokens, table.decode_seconds = total(data.completion), total(data.call_seconds)
    return table.subset(keep)


def layer_summary(table: TaskTable, counts: Callable[[int], np.ndarray], infra: int) -> LayerSummary:
    """The four layers, their intervals and pass@k for one route (or route × tier)."""
    episodes = int(table.n.sum())
    passes = int(table.passes.sum())
    values: dict[str, float | None] = {}
    for name in LAYERS:
        values[name] = stats.finite_or_none(table.value(name) if episodes else stats.INF)
    if episodes and table.tokens.sum() == 0:
        values["per_token"] = None  # no tokens were used (an oracle): the layer does not apply
    if episodes and table.calls.sum() == 0:
        values["per_call"] = None
    lo, hi = table.interval("per_pass", counts(len(table.tasks))) if episodes else (stats.INF, stats.INF)
    wall = table.value("wall_s") if episodes else stats.INF
    return LayerSummary(
        episodes=episodes,
        passes=passes,
        infra_episodes=infra,
        tasks=len(table.tasks),
        false_dones=int(table.false_done.sum()),
        calls=int(table.calls.sum()),
        tokens=int(table.tokens.sum()),
        cost_total=float(table.cost.sum()),
        overhead_total=float(table.overhead.sum()),
        pass_rate=passes / episodes if episodes else None,
        # Clustered by task: repeats of one task are not independent trials (stats.effective_episodes).
        pass_ci=stats.clustered_rate_ci(table.passes, table.n) if episodes else None,
        pass_effective_episodes=round(stats.effective_episodes(table.passes, table.n), 1),
        **values,
        per_pass_ci=(stats.finite_or_none(lo), stats.finite_or_none(hi)),
        per_pass_text=per_pass_text(values["per_pass"], passes, episodes, (lo, hi)),
        mean_wall_s=stats.finite_or_none(wall),
        decode_tok_s=stats.finite_or_none(table.value("decode_tok_s")) if table.decode_seconds.sum() else None,
        **stats.pass_k_table([int(x) for x in table.n], [int(x) for x in table.passes]),
        interval_note=interval_note(len(table.tasks), passes / episodes) if episodes else None,
    )


def interval_note(tasks: int, pass_rate: float | None) -> str | None:
    """Said on the card when a result lies where the intervals' coverage was not shown to hold."""
    if tasks < COVERAGE_CHECKED_FROM_TASKS:
        return (
            f"{tasks} task(s): the 95 % intervals were checked from {COVERAGE_CHECKED_FROM_TASKS} tasks up "
            "(benchmarks/bench_coverage.py); below that read them as rough, and add tasks to firm them up"
        )
    for short in SHORT_COVERAGE:
        if short.min_tasks <= tasks <= short.max_tasks and (pass_rate or 0.0) >= short.min_rate:
            return (
                f"{tasks} tasks at pass rate {pass_rate:.2f}: simulated runs like this ({short.min_tasks}–"
                f"{short.max_tasks} tasks, pass rate ≥ {short.min_rate}) held their 95 % intervals "
                f"{short.measured} of the time, under the 93 % target; more tasks firm them up"
            )
    return None


def per_pass_text(value: float | None, passes: int, episodes: int, ci: tuple[float, float]) -> str:
    if episodes == 0:
        return "not enough evidence (no valid episode)"
    if passes == 0 or value is None:
        return f"∞ (no pass in {episodes} episodes)"
    return f"{money(value)} [{money(ci[0])}, {money(ci[1])}]"
