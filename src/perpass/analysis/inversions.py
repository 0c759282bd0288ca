"""Rank routes at each cost layer and list every pair whose order flips between layers.

A flip is reported with the numbers behind it and with paired intervals of the difference on the
tasks both routes ran (stats.paired_diff_ci): an interval that straddles zero means that ordering
is not significant (the flip may be noise).
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np

from perpass.analysis import stats
from perpass.analysis.analyze import Analysis
from perpass.analysis.layers import LAYERS, TaskTable
from perpass.analysis.money import money
from perpass.analysis.results import Inversion, Layer, interval

LAYER_STEPS = [(LAYERS[i], LAYERS[i + 1]) for i in range(len(LAYERS) - 1)] + [(LAYERS[0], LAYERS[-1])]


def layer_value(table: TaskTable, layer: str) -> float | None:
    """None when a layer does not apply (no tokens, no calls); inf for no pass."""
    num, den = table.layer(layer)
    if layer != "per_pass" and den.sum() <= 0:
        return None
    return table.value(layer)


def rankings(tables: dict[str, TaskTable]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for layer in LAYERS:
        values = {name: layer_value(t, layer) for name, t in tables.items()}
        present = [n for n, v in values.items() if v is not None]
        out[layer] = sorted(present, key=lambda n: (values[n], n))
    return out


def compare(x: float, y: float) -> int:
    return (x > y) - (x < y)


def shared(a: TaskTable, b: TaskTable) -> tuple[TaskTable, TaskTable]:
    if np.array_equal(a.tasks, b.tasks):  # the usual case: both ran every task of the plan
        return a, b
    common = np.intersect1d(a.tasks, b.tasks)
    return a.subset(np.isin(a.tasks, common)), b.subset(np.isin(b.tasks, common))


def paired_diff(an: Analysis, a: TaskTable, b: TaskTable, layer: str) -> tuple[float, float]:
    """95 % interval of layer(a) − layer(b) over shared tasks, resampled together."""
    sa, sb = shared(a, b)
    if len(sa.tasks) == 0:
        return (-stats.INF, stats.INF)
    num_a, den_a = sa.layer(layer)
    num_b, den_b = sb.layer(layer)
    counts = an.counts(len(sa.tasks))
    marginals = (an.interval(a, sa, layer), an.interval(b, sb, layer))
    return stats.paired_diff_ci(counts, num_a, den_a, num_b, den_b, intervals=marginals)


def significant(ci: tuple[float, float]) -> bool:
    lo, hi = ci
    return (lo > 0 or hi < 0) and not (math.isnan(lo) or math.isnan(hi))


def find_inversions(an: Analysis, tier: str | None = None) -> list[Inversion]:
    tables = {an.data.routes[r].label: t for (r, t_tier), t in an.tables.items() if t_tier == tier}
    names = sorted(tables)
    values = {n: {layer: layer_value(tables[n], layer) for layer in LAYERS} for n in names}
    found: list[Inversion] = []
    for x, y in combinations(names, 2):
        for first, second in LAYER_STEPS:
            vx1, vy1, vx2, vy2 = values[x][first], values[y][first], values[x][second], values[y][second]
            if vx1 is None or vy1 is None or vx2 is None or vy2 is None:
                continue
            if compare(vx1, vy1) * compare(vx2, vy2) != -1:
                continue
            a, b = (x, y) if vx1 < vy1 else (y, x)  # a is the cheaper one at the first layer
            va2, vb2 = (vx2, vy2) if a == x else (vy2, vx2)
            ci_from = paired_diff(an, tables[a], tables[b], first)
            ci_to = paired_diff(an, tables[a], tables[b], second)
            sig = significant(ci_from) and significant(ci_to)
            found.append(
                Inversion(
                    a=a,
                    b=b,
                    from_layer=first,
                    to_layer=second,
                    from_={a: values[a][first], b: values[b][first]},
                    to={a: stats.finite_or_none(va2), b: stats.finite_or_none(vb2)},
                    diff_ci_from=interval(ci_from),
                    diff_ci_to=interval(ci_to),
                    shared_tasks=int(len(np.intersect1d(tables[a].tasks, tables[b].tasks))),
                    significant=sig,
                    text=inversion_text(a, b, first, second, values, sig),
                )
            )
    return found


def inversion_text(
    a: str, b: str, first: Layer, second: Layer, values: dict[str, dict[Layer, float | None]], sig: bool
) -> str:
    def show(name: str, layer: Layer) -> str:
        v = values[name][layer]
        return f"{v:.2f}/1M" if layer == "per_token" and v is not None else money(v)

    note = "" if sig else " (not significant: the paired interval includes 0)"
    return (
        f"{a} is cheaper {first.replace('_', '-')} ({show(a, first)} vs {show(b, first)}) but dearer "
        f"{second.replace('_', '-')} ({show(a, second)} vs {show(b, second)}){note}"
    )
