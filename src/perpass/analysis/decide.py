"""The decision per tier: primary route, runner-up, and the best two-step cascade.

A cascade "try A, escalate to B when the verifier fails A" is priced from per-task outcomes,
because failures correlate by task: per task t with pass rates a_t, b_t and mean attempt
costs (incl. failure overheads) cA_t, cB_t,
    cost_t = cA_t + (1 − a_t)·cB_t,   pass_t = 1 − (1 − a_t)(1 − b_t),
and the cascade's cost-per-pass is Σ cost_t / Σ pass_t over the tasks both routes ran.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np

from perpass.analysis import stats
from perpass.analysis.analyze import Analysis, is_reference
from perpass.analysis.ceilings import ADVICE, CEILINGS, all_ceilings, ceiling_counts
from perpass.analysis.inversions import find_inversions, rankings, shared
from perpass.analysis.layers import TaskTable
from perpass.analysis.money import money
from perpass.analysis.ofat import ofat_effects
from perpass.analysis.results import (
    Candidate,
    CascadeChoice,
    Ceiling,
    Decision,
    Evidence,
    TierDecision,
    interval,
)


def cascade_terms(a: TaskTable, b: TaskTable) -> tuple[np.ndarray, np.ndarray]:
    """Per shared task: expected cascade cost and expected pass (A first, B on failure)."""
    sa, sb = shared(a, b)
    rate_a, rate_b = sa.passes / sa.n, sb.passes / sb.n
    cost_a = (sa.cost + sa.overhead) / sa.n
    cost_b = (sb.cost + sb.overhead) / sb.n
    return cost_a + (1 - rate_a) * cost_b, 1 - (1 - rate_a) * (1 - rate_b)


def best_cascade(an: Analysis, tier: str, candidates: list[int], max_checked: int = 20) -> CascadeChoice | None:
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
        # The cascade's evidence is no more than that of its first route, clustered by task as a single
        # route's is: its pass-rate lower bound is the lower of Wilson on the first route's effective
        # episodes and the bootstrap over tasks.
        rate = float(den.mean())
        first = shared(an.tables[(i, tier)], an.tables[(j, tier)])[0]
        wilson_lo = stats.wilson_rate(rate, stats.effective_episodes(first.passes, first.n), stats.Z95)[0]
        boot_lo, rate_hi = stats.quantiles(counts @ den / len(num))
        rate_lo = min(wilson_lo, boot_lo)
        if rate_lo < an.book.min_pass_rate:
            continue
        return CascadeChoice(
            first=an.data.routes[i].label,
            then=an.data.routes[j].label,
            cost_per_pass=cpp,
            ci=interval(stats.ratio_ci(counts, num, den)),
            pass_rate=rate,
            pass_ci=(rate_lo, rate_hi),
            shared_tasks=len(num),
        )
    return None


def tier_blocker(an: Analysis, r: int, tier: str, min_rate: float) -> tuple[str, Ceiling | None]:
    """Why route r misses the minimum on this tier: its dominant ceiling here, or too few episodes."""
    mask = tier_mask(an, r, tier)
    failed, counts = ceiling_counts(an, mask)
    n_failed, n = int(failed.sum()), int(mask.sum())
    if n_failed == 0:
        return (f"; none of its {n} episodes failed, but {n} are too few for the lower bound to reach "
                f"{min_rate}: raise repeats or add tasks of this tier"), None
    # On a tie, name the capability ceiling: it is the one config cannot fix, so the safer claim.
    dominant: Ceiling = max(CEILINGS, key=lambda c: (counts[c], c == "capability"))
    shares = ", ".join(f"{c} {counts[c]}" for c in CEILINGS if counts[c])
    return (f"; its {n_failed} failures on this tier hit these ceilings: {shares}; {ADVICE[dominant]}"), dominant


def candidate(an: Analysis, r: int, tier: str, min_rate: float) -> Candidate:
    """Route r on this tier. Eligible: not a reference, at least one pass, pass-rate lower bound ≥ minimum."""
    layer = an.layers[an.data.routes[r].label].tiers[tier]
    reference = is_reference(an.data.routes[r])
    passed = layer.per_pass is not None and layer.passes > 0
    meets = layer.pass_ci is not None and layer.pass_ci[0] >= min_rate
    return Candidate(
        route=an.data.routes[r].label,
        pass_rate=layer.pass_rate,
        pass_ci=layer.pass_ci,
        cost_per_pass=layer.per_pass,
        ci=layer.per_pass_ci,
        text=layer.per_pass_text,
        episodes=layer.episodes,
        passes=layer.passes,
        eligible=passed and meets and not reference,
        reference=reference,
    )


def no_primary_reason(
    an: Analysis, tier: str, rows: dict[int, Candidate], min_rate: float
) -> tuple[str, Ceiling | None]:
    """Why nothing is routed on this tier: only references ran, nothing passed, or no route meets the minimum."""
    routable = {r: c for r, c in rows.items() if not c.reference}
    if not routable:
        return f"only reference routes (the oracle) ran tier {tier}: nothing to route to", None
    episodes = sum(c.episodes for c in routable.values())
    def closeness(rc: tuple[int, Candidate]) -> tuple[float, float]:  # highest lower bound, then cheapest
        c = rc[1]
        return (c.pass_ci[0] if c.pass_ci else 0.0, -(c.cost_per_pass if c.cost_per_pass is not None else stats.INF))

    r, best = max(routable.items(), key=closeness)
    blocker, dominant = tier_blocker(an, r, tier, min_rate)
    if all(c.passes == 0 for c in routable.values()):
        return (f"no route passed any of its {episodes} episodes of tier {tier}: nothing to route to "
                f"(closest is {best.route}{blocker})"), dominant
    lo, hi = best.pass_ci or (0.0, 1.0)
    return (
        f"no route meets the minimum pass rate {min_rate} (lower bound of the 95 % interval, clustered by "
        f"task); closest is "
        f"{best.route} with pass rate {best.pass_rate or 0:.2f} [{lo:.2f}, {hi:.2f}]{blocker}"
    ), dominant


def decide_tier(an: Analysis, tier: str) -> TierDecision:
    min_rate = an.book.min_pass_rate
    rows = {r: candidate(an, r, tier, min_rate) for r in range(len(an.data.routes)) if (r, tier) in an.tables}
    eligible = sorted(
        ((r, c) for r, c in rows.items() if c.eligible), key=lambda rc: (rc[1].cost_per_pass, rc[1].route)
    )
    infra = int(((an.data.tier == tier) & an.data.infra).sum())
    routable = [r for r, c in rows.items() if not c.reference]
    cascade = best_cascade(an, tier, routable) if routable else None
    out = TierDecision(
        primary=None, fallback=None, cascade=None, cost_per_pass=None, ci=None, pass_rate=None, pass_ci=None,
        min_pass_rate=min_rate, reason="", candidates=list(rows.values()),
    )
    if not rows:
        out.reason = f"not enough evidence: all {infra} episodes of tier {tier} were infra failures"
    elif not eligible:
        out.reason, out.blocked_by = no_primary_reason(an, tier, rows, min_rate)
    else:
        r, top = eligible[0]
        out.primary = top.route
        out.cost_per_pass, out.cost_per_pass_text, out.ci = top.cost_per_pass, top.text, top.ci
        out.pass_rate, out.pass_ci = top.pass_rate, top.pass_ci
        out.fallback = eligible[1][1].route if len(eligible) > 1 else None
        n_refs = len(rows) - len(routable)
        refs = f" (the {n_refs} reference route(s) are shown, never routed to)" if n_refs else ""
        out.reason = (
            f"lowest cost-per-pass among {len(eligible)} of {len(routable)} routes whose pass-rate "
            f"lower bound ≥ {min_rate}{refs}"
        )
        out.evidence = Evidence(
            episodes=top.episodes,
            episode_ids=[int(x) for x in an.data.episode_id[tier_mask(an, r, tier)]],
        )
    if cascade:
        cascade.beats_primary = out.cost_per_pass is None or cascade.cost_per_pass < out.cost_per_pass
        if out.primary is None:
            out.reason += (
                f"; the cascade {cascade.first} → {cascade.then} does meet it "
                f"({cascade.pass_rate:.2f} at {money(cascade.cost_per_pass)} per pass)"
            )
    out.cascade = cascade
    return out


def tier_mask(an: Analysis, r: int, tier: str) -> np.ndarray:
    """Route r's valid (not infra) episodes on this tier."""
    mask: np.ndarray = (an.data.route == r) & (an.data.tier == tier) & ~an.data.infra
    return mask


def decision(an: Analysis) -> Decision:
    """The `perpass decide --json` object."""
    tiers = sorted({str(t) for t in an.data.tier})  # with tiers that only had infra failures
    valid = int((~an.data.infra).sum())
    message = None
    if an.data.n == 0:
        message = "not enough evidence: the store has no finished episode"
    elif valid == 0:
        message = f"not enough evidence: all {an.data.n} finished episodes were infra failures"
    overall = {an.data.routes[r].label: t for (r, tier), t in an.tables.items() if tier is None}
    return Decision(
        store=str(an.data.path),
        min_pass_rate=an.book.min_pass_rate,
        overheads=an.book.overheads,
        message=message,
        tiers={tier: decide_tier(an, tier) for tier in tiers},
        layers=an.layers,
        rankings=rankings(overall),
        inversions=find_inversions(an),
        ceilings=all_ceilings(an),
        ofat=ofat_effects(an),
        unfinished_episodes=an.data.unfinished,
    )
