"""OFAT effects per model: each factor's cell against the baseline cell, on shared tasks."""

from __future__ import annotations

from perpass.analysis import stats
from perpass.analysis.analyze import Analysis
from perpass.analysis.ceilings import baseline_of
from perpass.analysis.inversions import paired_diff, significant
from perpass.analysis.results import BestConfig, ModelOfat, OfatCell, OfatEffect, interval

METRICS = ("pass_rate", "per_pass", "decode_tok_s", "wall_s")


def metric_value(an: Analysis, r: int, metric: str) -> float | None:
    table = an.tables[(r, None)]
    num, den = table.layer(metric)
    if metric != "per_pass" and den.sum() <= 0:
        return None
    return stats.finite_or_none(table.value(metric))


def ofat_effects(an: Analysis) -> dict[str, ModelOfat]:
    out: dict[str, ModelOfat] = {}
    models = sorted({r.model_key for r in an.data.routes})
    for model in models:
        members = [i for i, r in enumerate(an.data.routes) if r.model_key == model]
        base = baseline_of(an, an.data.routes[members[0]])
        cells = []
        for i in members:
            route = an.data.routes[i]
            cells.append(
                OfatCell(
                    cell=route.label,
                    factor=route.factor,
                    level=route.level,
                    baseline=route.is_baseline,
                    **{metric: metric_value(an, i, metric) for metric in METRICS},
                    effects=effects_vs_baseline(an, i, base) if base is not None and i != base else None,
                )
            )
        out[model] = ModelOfat(
            baseline=an.data.routes[base].label if base is not None else None,
            cells=cells,
            best=best_config(an, members),
        )
    return out


def effects_vs_baseline(an: Analysis, i: int, base: int) -> dict[str, OfatEffect]:
    effects = {}
    for metric in METRICS:
        a, b = metric_value(an, i, metric), metric_value(an, base, metric)
        ci = paired_diff(an, an.tables[(i, None)], an.tables[(base, None)], metric)
        effects[metric] = OfatEffect(
            delta=None if a is None or b is None else a - b, ci=interval(ci), significant=significant(ci)
        )
    return effects


def best_config(an: Analysis, members: list[int]) -> BestConfig | None:
    """Lowest cost-per-pass among cells whose pass-rate lower bound meets the minimum;
    without such a cell, the one with the highest pass rate."""
    scored = []
    for i in members:
        layer = an.layers[an.data.routes[i].label]
        if not layer.episodes or layer.pass_ci is None or layer.pass_rate is None:
            continue
        cpp = layer.per_pass if layer.per_pass is not None else stats.INF
        scored.append((layer.pass_ci[0] >= an.book.min_pass_rate, cpp, layer.pass_rate, i))
    if not scored:
        return None
    eligible = [s for s in scored if s[0]]
    if eligible:
        _, cpp, rate, i = min(eligible, key=lambda s: (s[1], -s[2]))
        why = f"lowest cost-per-pass among cells with pass-rate lower bound ≥ {an.book.min_pass_rate}"
    else:
        _, cpp, rate, i = max(scored, key=lambda s: (s[2], -s[1]))
        why = f"no cell reaches pass-rate lower bound {an.book.min_pass_rate}: highest pass rate"
    route = an.data.routes[i]
    return BestConfig(
        cell=route.label,
        factor=route.factor,
        level=route.level,
        changes=route.changes,
        cost_per_pass=stats.finite_or_none(cpp),
        pass_rate=rate,
        why=why,
    )
