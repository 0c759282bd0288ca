"""The decision per tier: primary route, runner-up, and the best two-step cascade.

A cascade "try A, escalate to B when the verifier fails A" is priced from per-task outcomes,
because failures correlate by task: per task t with pass rates a_t, b_t and mean attempt
costs (incl. failure overheads) cA_t, cB_t,
    cost_t = cA_t + (1 − a_t)·cB_t,   pass_t = 1 − (1 − a_t)(1 − b_t),
and the cascade's cost-per-pass is Σ cost_t / Σ pass_t over the tasks both routes ran.
"""

from __future__ import annotations

from itertools import permutations
from typing import Any

import numpy as np

from perpass.analysis import stats
from perpass.analysis.analyze import Analysis
from perpass.analysis.ceilings import ADVICE, CEILINGS, all_ceilings, ceiling_counts
from perpass.analysis.inversions import find_inversions, rankings, shared
from perpass.analysis.layers import TaskTable
from perpass.analysis.ofat import ofat_effects


def cascade_terms(a: TaskTable, b: TaskTable) -> tuple[np.ndarray, np.ndarray]:
    """Per shared task: expected cascade cost and expected pass (A first, B on failure)."""
    sa, sb = shared(a, b)
    rate_a, rate_b = sa.passes / sa.n, sb.passes / sb.n
    cost_a = (sa.cost + sa.overhead) / sa.n
    cost_b = (sb.cost + sb.overhead) / sb.n
    return cost_a + (1 - rate_a) * cost_b, 1 - (1 - rate_a) * (1 - rate_b)


def best_cascade(
    an: Analysis, tier: str, candidates: list[int], max_checked: int = 20
) -> dict[str, Any] | None:
    """The ordered pair with the lowest cascade cost-per-pass whose pass rate meets the minimum.

    Like a single route, a cascade must meet the minimum with a lower bound, so pairs are checked
    cheapest first, and only the few cheapest are resampled.
    """
    scored = []
    for i, j in permutations(candidates, 2):
        num, den = cascade_terms(an.tables[(i, tier)], an.tables[(j, tier)])
        if len(num) == 0 or float(den.mean()) < an.book.min_pass_rate:
            continue
        cpp = stats.ratio(float(num.sum()), float(den.sum()))
        if not np.isinf(cpp):
            scored.append((cpp, i, j, num, den))
    scored.sort(key=lambda s: (s[0], s[1], s[2]))
    for cpp, i, j, num, den in scored[:max_checked]:
        counts = an.counts(len(num))
        # The cascade's evidence is no more than the episodes of its first route: its pass-rate lower
        # bound is the lower of Wilson on those episodes and the bootstrap over tasks.
        rate = float(den.mean())
        episodes = float(shared(an.tables[(i, tier)], an.tables[(j, tier)])[0].n.sum())
        wilson_lo = stats.wilson(round(rate * episodes), int(episodes))[0]
        boot_lo, rate_hi = stats.quantiles(counts @ den / len(num))
        rate_lo = min(wilson_lo, boot_lo)
        if rate_lo < an.book.min_pass_rate:
            continue
        ci = stats.ratio_ci(counts, num, den)
        return {
            "first": an.data.routes[i].label,
            "then": an.data.routes[j].label,
            "cost_per_pass": cpp,
            "ci": [stats.finite_or_none(v) for v in ci],
            "pass_rate": float(den.mean()),
            "pass_ci": [rate_lo, rate_hi],
            "shared_tasks": len(num),
        }
    return None


def tier_blocker(an: Analysis, r: int, tier: str, min_rate: float) -> tuple[str, str | None]:
    """Why route r misses the minimum on this tier: its dominant ceiling here, or too few episodes."""
    mask = tier_mask(an, r, tier)
    failed, counts = ceiling_counts(an, mask)
    n_failed, n = int(failed.sum()), int(mask.sum())
    if n_failed == 0:
        return (f"; none of its {n} episodes failed, but {n} are too few for the lower bound to reach "
                f"{min_rate}: raise repeats or add tasks of this tier"), None
    # On a tie, name the capability ceiling: it is the one config cannot fix, so the safer claim.
    dominant = max(CEILINGS, key=lambda c: (counts[c], c == "capability"))
    shares = ", ".join(f"{c} {counts[c]}" for c in CEILINGS if counts[c])
    return (f"; its {n_failed} failures on this tier hit these ceilings: {shares}; {ADVICE[dominant]}"), dominant


def decide_tier(an: Analysis, tier: str) -> dict[str, Any]:
    min_rate = an.book.min_pass_rate
    candidates = [r for r in range(len(an.data.routes)) if (r, tier) in an.tables]
    rows = []
    for r in candidates:
        layer = an.layers[an.data.routes[r].label]["tiers"][tier]
        cpp = layer["per_pass"] if layer["per_pass"] is not None else stats.INF
        rows.append(
            {
                "route": an.data.routes[r].label,
                "index": r,
                "pass_rate": layer["pass_rate"],
                "pass_ci": layer["pass_ci"],
                "cost_per_pass": cpp,
                "ci": layer["per_pass_ci"],
                "text": layer["per_pass_text"],
                "episodes": layer["episodes"],
                "eligible": layer["pass_ci"][0] >= min_rate,
            }
        )
    eligible = sorted((r for r in rows if r["eligible"]), key=lambda r: (r["cost_per_pass"], r["route"]))
    out: dict[str, Any] = {
        "primary": None,
        "fallback": None,
        "cascade": None,
        "cost_per_pass": None,
        "ci": None,
        "pass_rate": None,
        "pass_ci": None,
        "min_pass_rate": min_rate,
    }
    infra = int(((an.data.tier == tier) & an.data.infra).sum())
    if not rows:
        out["reason"] = f"not enough evidence: all {infra} episodes of tier {tier} were infra failures"
    elif not eligible:
        best = max(rows, key=lambda r: (r["pass_ci"][0], -r["cost_per_pass"]))
        blocker, dominant = tier_blocker(an, best["index"], tier, min_rate)
        out["reason"] = (
            f"no route meets the minimum pass rate {min_rate} (lower bound of the 95 % interval, "
            f"clustered by task); closest is {best['route']} with pass rate {best['pass_rate']:.2f} "
            f"[{best['pass_ci'][0]:.2f}, {best['pass_ci'][1]:.2f}]{blocker}"
        )
        out["blocked_by"] = dominant
    else:
        top = eligible[0]
        out.update(
            primary=top["route"],
            cost_per_pass=stats.finite_or_none(top["cost_per_pass"]),
            ci=top["ci"],
            pass_rate=top["pass_rate"],
            pass_ci=top["pass_ci"],
            cost_per_pass_text=top["text"],
        )
        out["fallback"] = eligible[1]["route"] if len(eligible) > 1 else None
        out["reason"] = (
            f"lowest cost-per-pass among {len(eligible)} of {len(rows)} routes whose pass-rate "
            f"lower bound ≥ {min_rate}"
        )
        out["evidence"] = {
            "episodes": top["episodes"],
            "episode_ids": [int(x) for x in an.data.episode_id[tier_mask(an, top["index"], tier)]],
        }
    cascade = best_cascade(an, tier, candidates) if rows else None
    if cascade:
        cascade["beats_primary"] = (
            out["cost_per_pass"] is not None and cascade["cost_per_pass"] < out["cost_per_pass"]
        )
        if out["primary"] is None:
            out["reason"] += (
                f"; the cascade {cascade['first']} → {cascade['then']} does meet it "
                f"({cascade['pass_rate']:.2f} at {stats.money(cascade['cost_per_pass'])} per pass)"
            )
    out["cascade"] = cascade
    out["candidates"] = [
        {k: (stats.finite_or_none(v) if k == "cost_per_pass" else v) for k, v in r.items() if k != "index"}
        for r in rows
    ]
    return out


def tier_mask(an: Analysis, r: int, tier: str) -> np.ndarray:
    """Route r's valid (not infra) episodes on this tier."""
    return (an.data.route == r) & (an.data.tier == tier) & ~an.data.infra


def decision(an: Analysis) -> dict[str, Any]:
    """The `perpass decide --json` object."""
    ceilings = all_ceilings(an)
    tiers = sorted({str(t) for t in an.data.tier})  # with tiers that only had infra failures
    valid = int((~an.data.infra).sum())
    message = None
    if an.data.n == 0:
        message = "not enough evidence: the store has no finished episode"
    elif valid == 0:
        message = f"not enough evidence: all {an.data.n} finished episodes were infra failures"
    overall = {an.data.routes[r].label: t for (r, tier), t in an.tables.items() if tier is None}
    return {
        "store": str(an.data.path),
        "min_pass_rate": an.book.min_pass_rate,
        "overheads": an.book.overheads.model_dump(),
        "message": message,
        "tiers": {tier: decide_tier(an, tier) for tier in tiers},
        "layers": an.layers,
        "rankings": rankings(overall),
        "inversions": find_inversions(an),
        "ceilings": ceilings,
        "ofat": ofat_effects(an),
        "unfinished_episodes": an.data.unfinished,
    }
