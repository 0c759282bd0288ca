"""Why each route fails: shares of turn / token / capability ceilings, advice, and the OFAT check.

Turn and token ceilings are fixable by config; the capability ceiling is not. When the model's
OFAT matrix has a cell that raised the limit in question, the advice is checked against it.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from perpass.analysis.analyze import Analysis
from perpass.analysis.inversions import paired_diff, significant
from perpass.analysis.results import (
    Ceiling,
    CeilingCheck,
    CeilingCounts,
    CeilingShares,
    CeilingSummary,
    FailingExample,
    interval,
)
from perpass.analysis.store_data import RouteInfo

CEILINGS: tuple[Ceiling, ...] = ("turn", "token", "capability")
FACTORS_FOR = {
    "turn": ("max_turns", "wall_limit_s"),
    "token": ("n_ctx", "context_window", "max_output_tokens", "kv_type"),
}
ADVICE = {
    "turn": "turn ceiling: raise harness.max_turns or harness.wall_limit_s (fixable by config)",
    "token": "token ceiling: raise serving.n_ctx / harness.context_window or harness.max_output_tokens, "
    "or use serving.kv_type q8_0 to fit a longer context (fixable by config)",
    "capability": "capability ceiling: a config change will not fix it; use a stronger model "
    "or send this tier elsewhere",
}


RAISED_LIMITS = {"max_turns", "wall_limit_s", "n_ctx", "context_window", "max_output_tokens"}


def _raised(before: Any, after: Any) -> bool:
    numbers = (int, float)
    return isinstance(after, numbers) and (not isinstance(before, numbers) or after > before)


def short_factor(factor: str | None) -> str:
    return (factor or "").rsplit(".", 1)[-1]


def find_setting(config: Any, key: str) -> Any:
    """The value of `key` anywhere in a nested config (harness.max_turns → max_turns)."""
    if isinstance(config, dict):
        if key in config:
            return config[key]
        for value in config.values():
            found = find_setting(value, key)
            if found is not None:
                return found
    return None


def ceiling_counts(an: Analysis, mask: np.ndarray) -> tuple[np.ndarray, dict[Ceiling, int]]:
    """The model failures among the episodes in `mask`, and how many hit each ceiling."""
    d = an.data
    failed = mask & ~d.passed & ~d.infra
    counts = {c: int((failed & (d.ceiling == c)).sum()) for c in CEILINGS}
    # A failure with no recorded ceiling is the model's: count it as capability.
    counts["capability"] += int((failed & ~np.isin(d.ceiling, list(CEILINGS))).sum())
    return failed, counts


def route_ceilings(an: Analysis, r: int) -> CeilingSummary:
    d = an.data
    mine = d.route == r
    failed, counts = ceiling_counts(an, mine)
    n_failed = int(failed.sum())
    shares = {c: (counts[c] / n_failed if n_failed else 0.0) for c in CEILINGS}
    ordered = sorted((c for c in CEILINGS if counts[c]), key=lambda c: -counts[c])
    failing = [
        FailingExample(episode=int(e), ceiling=str(c), stop_reason=str(s), transcript=t)
        for e, c, s, t in zip(
            d.episode_id[failed],
            d.ceiling[failed],
            d.stop_reason[failed],
            [d.transcript[i] for i in np.flatnonzero(failed)],
            strict=True,
        )
    ]
    return CeilingSummary(
        failed=n_failed,
        counts=CeilingCounts(**counts),
        shares=CeilingShares(**shares),
        infra=int((mine & d.infra).sum()),
        dominant=ordered[0] if ordered else None,
        advice=[ADVICE[c] for c in ordered],
        checks=ofat_checks(an, r, ordered),
        failing_examples=pick_examples(failing),
    )


def pick_examples(failing: list[FailingExample], per_ceiling: int = 2) -> list[FailingExample]:
    """A few representative failing transcripts: the first ones of each ceiling."""
    seen: dict[str, int] = {}
    out = []
    for f in failing:
        if seen.get(f.ceiling, 0) < per_ceiling:
            seen[f.ceiling] = seen.get(f.ceiling, 0) + 1
            out.append(f)
    return out


def ofat_checks(an: Analysis, r: int, ceilings: list[Ceiling]) -> list[CeilingCheck]:
    """Did the OFAT cell that moved this ceiling's limit actually raise the pass rate?"""
    route = an.data.routes[r]
    base = baseline_of(an, route)
    if base is None:
        return []
    out = []
    for c in ceilings:
        for i, other in enumerate(an.data.routes):
            key = short_factor(other.factor)
            if i == r or other.model_key != route.model_key or key not in FACTORS_FOR.get(c, ()):
                continue  # a cell is never checked against itself
            before = find_setting(an.data.routes[base].config, key)
            if key in RAISED_LIMITS and not _raised(before, other.level):
                continue  # only a cell that raised the limit tests the advice "raise the limit"
            cell, baseline = an.tables[(i, None)], an.tables[(base, None)]
            ci = paired_diff(an, cell, baseline, "pass_rate")
            delta = cell.value("pass_rate") - baseline.value("pass_rate")
            verdict = (
                "helped"
                if significant(ci) and ci[0] > 0
                else ("hurt" if significant(ci) else "no clear change")
            )
            out.append(
                CeilingCheck(
                    ceiling=c,
                    cell=other.label,
                    factor=other.factor,
                    from_=before,
                    to=other.level,
                    pass_rate_delta=delta,
                    delta_ci=interval(ci),
                    verdict=verdict,
                    text=f"{other.factor} {json.dumps(before)} → {json.dumps(other.level)}: pass rate "
                    f"{delta:+.2f} [{ci[0]:+.2f}, {ci[1]:+.2f}] ({verdict})",
                )
            )
    return out


def baseline_of(an: Analysis, route: RouteInfo) -> int | None:
    for i, other in enumerate(an.data.routes):
        if other.model_key == route.model_key and other.is_baseline:
            return i
    return None


def all_ceilings(an: Analysis) -> dict[str, CeilingSummary]:
    return {route.label: route_ceilings(an, r) for r, route in enumerate(an.data.routes)}
