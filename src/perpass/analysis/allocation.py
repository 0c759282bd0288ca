"""Adaptive allocation: after each round, which cells still need episodes (racing by elimination).

`allocation: adaptive` in a plan runs every cell at the minimum N first, then adds one repeat of
every task per round, only to the (cell, tier) pairs still in the race, up to the plan's `repeats`
(the maximum N). `race` is the rule, a pure function of the per-task outcomes and costs so far.

The question a round answers is: *would more repeats of these same tasks change which cell the
decision picks on this tier?* More repeats cannot tell anything about other tasks — the
task-to-task part of a reported interval only shrinks with more tasks — so the rule measures what
repeats can still move: the within-task noise, task by task (stratified by task; tasks are fixed).
The decision at maximum N picks, per tier, the cheapest cost-per-pass among cells whose 95 %
clustered pass-rate lower bound reaches the minimum pass rate. A cell stops on a tier when:

- **cannot_reach_min_pass_rate**: even at the top of its pass-rate interval, with the design effect
  its tasks show, its 95 % lower bound at maximum N stays below the minimum: never eligible;
- **dearer_than_eligible_cell**: its cost per pass lies above that of a cell that will be eligible
  (the bottom of whose interval still clears the minimum at maximum N), or above that of a cell
  that also passes more often (Pareto: cheaper and better, so eligible whenever this one is);
- **tier_decided**: it is the last cell racing on the tier and will be eligible.

Error rate: the rule uses at most 3 one-sided bounds per cell and look (a cost comparison, a
pass-rate comparison, an eligibility bound), each at α / (3·K·L) for K cells on the tier and
L looks (Bonferroni over cells and repeated looks), so with probability ≥ 1 − α none fails, and
then the cell the decision would pick at maximum N is never stopped. The repeated looks at
cumulative data are strongly correlated, which makes Bonferroni over them conservative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from perpass.analysis import stats
from perpass.analysis.money import money

STOP_INELIGIBLE = "cannot_reach_min_pass_rate"
STOP_DOMINATED = "dearer_than_eligible_cell"
STOP_DECIDED = "tier_decided"
RACING = "racing"


@dataclass(frozen=True)
class CellEvidence:
    """One cell's valid episodes on one tier so far, per task (the rows, the same tasks for every cell
    of the tier): episodes, passes, Σ spent (cost + failure overheads), Σ spent², Σ spent of passes."""

    cell: str
    tier: str
    episodes: np.ndarray
    passes: np.ndarray
    spent: np.ndarray
    spent_sq: np.ndarray
    spent_passed: np.ndarray

    @classmethod
    def from_episodes(
        cls, cell: str, tier: str, task: np.ndarray, passed: np.ndarray, spent: np.ndarray, n_tasks: int
    ) -> CellEvidence:
        """Per-task sums of one cell's episodes (`task`: row index of each episode's task)."""

        def total(values: np.ndarray) -> np.ndarray:
            return np.bincount(task, weights=values.astype(np.float64), minlength=n_tasks)

        ok = passed.astype(np.float64)
        return cls(cell, tier, total(np.ones(len(task))), total(ok), total(spent), total(spent**2), total(spent * ok))


@dataclass(frozen=True)
class RacingRule:
    error_rate: float = 0.05  # chance, at most, that the rule stops the cell the decision would pick
    min_pass_rate: float = 0.5
    min_repeats: int = 3
    max_repeats: int = 10
    decision_level: float = 0.95  # the decision's pass-rate interval (analysis.decide)

    @property
    def looks(self) -> int:
        """Reviews that can stop a cell: after N = min, …, max − 1 repeats."""
        return max(self.max_repeats - self.min_repeats, 1)

    def z(self, cells: int) -> float:
        """Normal quantile of each one-sided bound with K cells racing on a tier: α / (3·K·L)."""
        return stats.two_sided_z(1 - 2 * self.error_rate / (3 * max(cells, 1) * self.looks))


@dataclass(frozen=True)
class Verdict:
    cell: str
    tier: str
    go_on: bool
    kind: str  # RACING, or one of the STOP_* reasons
    reason: str
    cost_per_pass: float
    pass_rate: float
    episodes: int


@dataclass(frozen=True)
class Standing:
    """What N = max would show for one cell on these tasks, as far as the episodes so far tell."""

    evidence: CellEvidence
    pass_rate: float
    pass_se: float  # how far the pass rate at maximum N may still move (within-task noise only)
    cost_per_pass: float
    cost_se: float  # how far cost-per-pass at maximum N may still move (within-task noise only)
    n_eff_at_max: float  # the decision's effective episodes at maximum N (its design effect)

    @property
    def episodes(self) -> int:
        return int(self.evidence.episodes.sum())


def standing(ev: CellEvidence, rule: RacingRule) -> Standing:
    """Task-stratified estimates: each task's pass rate is smoothed ((passes + ½) / (n + 1)) for its
    variance, so three passes out of three still leave room for a failure."""
    seen = ev.episodes > 0
    n, passes = ev.episodes[seen], ev.passes[seen]
    spent, spent_sq, spent_passed = ev.spent[seen], ev.spent_sq[seen], ev.spent_passed[seen]
    k, total, passed = len(n), float(n.sum()), float(passes.sum())
    if k == 0:
        return Standing(ev, 0.0, 0.5, stats.INF, stats.INF, 0.0)
    rate = passed / total
    smooth = (passes + 0.5) / (n + 1)
    var_pass = smooth * (1 - smooth)  # within-task variance of one episode's outcome
    # The estimate at maximum N keeps the episodes seen so far (a share w of its episodes): only the
    # rest is still uncertain. Its spread around today's estimate is today's standard error × √(1 − w).
    still_open = math.sqrt(max(1 - total / (k * rule.max_repeats), 0.0))
    pass_se = still_open * math.sqrt(float((n * var_pass).sum())) / total
    cpp, cost_se = stats.INF, stats.INF
    if passed > 0:
        cpp = float(spent.sum()) / passed
        # within-task variance of u = spent − cpp·passed per episode, times n, summed over tasks
        dof = np.maximum(n - 1, 1)
        var_x = np.maximum(spent_sq - spent**2 / n, 0.0) / dof
        cov_xy = (spent_passed - spent * passes / n) / dof
        var_u = np.maximum(var_x - 2 * cpp * cov_xy + cpp**2 * var_pass, 0.0)
        cost_se = still_open * math.sqrt(float((n * var_u).sum())) / passed
    # The decision's design effect at maximum N: between-task spread of the true rates (moment
    # estimate) plus the within-task spread that N repeats leave.
    within = float(var_pass.mean())
    between = max(float(np.var(passes / n, ddof=1)) - float((var_pass / n).mean()), 0.0) if k > 1 else 0.0
    var_at_max = (between + within / rule.max_repeats) / k
    n_eff = rate * (1 - rate) / var_at_max if var_at_max > 0 else k * rule.max_repeats
    return Standing(ev, rate, pass_se, cpp, cost_se, float(min(max(n_eff, k), k * rule.max_repeats)))


def lower_bound_at_max(s: Standing, rate: float, rule: RacingRule) -> float:
    """The decision's pass-rate lower bound at maximum N if the pass rate came out at `rate`."""
    return stats.wilson_rate(min(max(rate, 0.0), 1.0), s.n_eff_at_max, stats.two_sided_z(rule.decision_level))[0]


def race(
    evidence: list[CellEvidence], rule: RacingRule, stopped: frozenset[tuple[str, str]] = frozenset()
) -> list[Verdict]:
    """Verdicts for every (cell, tier) in `evidence` not already `stopped` (stopping is final)."""
    out: list[Verdict] = []
    for tier in sorted({ev.tier for ev in evidence}):
        in_tier = [ev for ev in evidence if ev.tier == tier]
        racing = [ev for ev in in_tier if (ev.cell, tier) not in stopped]
        out += race_tier(racing, rule, len(in_tier))
    return out


def race_tier(racing: list[CellEvidence], rule: RacingRule, cells: int) -> list[Verdict]:
    z = rule.z(cells)
    rows = [standing(ev, rule) for ev in racing]
    floor = rule.min_pass_rate
    will_qualify = {r.evidence.cell for r in rows if lower_bound_at_max(r, r.pass_rate - z * r.pass_se, rule) >= floor}
    verdicts: dict[str, tuple[str, str]] = {}
    for r in rows:
        best = lower_bound_at_max(r, r.pass_rate + z * r.pass_se, rule)
        if best < floor:
            verdicts[r.evidence.cell] = (
                STOP_INELIGIBLE,
                f"pass rate {r.pass_rate:.2f}: even at {min(r.pass_rate + z * r.pass_se, 1):.2f} over "
                f"{rule.max_repeats} repeats the decision's lower bound would be {best:.2f} < {floor}",
            )
            continue
        for b in sorted(rows, key=lambda b: (b.cost_per_pass, b.evidence.cell)):
            gap = b.cost_per_pass - r.cost_per_pass  # negative when b is cheaper
            if b is r or not gap + z * math.hypot(b.cost_se, r.cost_se) < 0:
                continue
            if b.evidence.cell in will_qualify:
                why = f"{b.evidence.cell} will clear the minimum pass rate {floor}"
            elif b.pass_rate - r.pass_rate - z * math.hypot(b.pass_se, r.pass_se) > 0:
                why = f"{b.evidence.cell} also passes more often ({b.pass_rate:.2f} vs {r.pass_rate:.2f})"
            else:
                continue
            verdicts[r.evidence.cell] = (
                STOP_DOMINATED,
                f"cost per pass {money(r.cost_per_pass)} vs {money(b.cost_per_pass)} for "
                f"{b.evidence.cell}, a gap more repeats would not close, and {why}",
            )
            break
    left = [r for r in rows if r.evidence.cell not in verdicts]
    if len(left) == 1 and left[0].evidence.cell in will_qualify:
        verdicts[left[0].evidence.cell] = (
            STOP_DECIDED,
            f"the last cell racing on {left[0].evidence.tier}, and it will clear the minimum pass rate {floor}",
        )
    return [
        Verdict(
            cell=r.evidence.cell,
            tier=r.evidence.tier,
            go_on=r.evidence.cell not in verdicts,
            kind=verdicts.get(r.evidence.cell, (RACING, ""))[0],
            reason=verdicts.get(r.evidence.cell, (RACING, "still in the race"))[1]
            + f" (after {r.episodes} episodes; bounds at z = {z:.2f})",
            cost_per_pass=r.cost_per_pass,
            pass_rate=r.pass_rate,
            episodes=r.episodes,
        )
        for r in rows
    ]
