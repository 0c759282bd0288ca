"""Card plots with matplotlib (Agg, no display): pass rate vs cost-per-pass, and cost by layer."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.ticker import FuncFormatter  # noqa: E402

from perpass.analysis.layers import LAYER_TITLES, LAYERS  # noqa: E402

HIGHLIGHT = "#1f6feb"
OTHER = "#9aa4ae"


def pareto_frontier(points: list[tuple[str, float, float]]) -> list[str]:
    """Names of (name, cost, pass_rate) points no other point beats on both (cheaper and better)."""
    frontier: list[str] = []
    best_rate = -1.0
    for name, cost, rate in sorted(points, key=lambda p: (p[1], -p[2], p[0])):
        if math.isfinite(cost) and rate > best_rate:
            frontier.append(name)
            best_rate = rate
    return frontier


def pass_vs_cost(layers: dict[str, dict[str, Any]], highlight: str, path: Path) -> Path:
    """Every route with a pass; the highlighted model's cells in colour, the frontier as a step line."""
    points = [
        (name, v["per_pass"], v["pass_rate"])
        for name, v in layers.items()
        if v.get("per_pass") is not None and v.get("pass_rate") is not None
    ]
    frontier = set(pareto_frontier(points))
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=90)
    for name, cost, rate in points:
        mine = layers[name]["model_key"] == highlight
        lo, hi = layers[name]["pass_ci"]
        ax.errorbar(
            cost,
            rate,
            yerr=[[rate - lo], [hi - rate]],
            fmt="o",
            ms=6 if mine else 4,
            color=HIGHLIGHT if mine else OTHER,
            ecolor=OTHER,
            elinewidth=0.8,
            capsize=2,
            markeredgecolor="black" if name in frontier else "none",
            zorder=3 if mine else 2,
        )
        if mine or name in frontier:
            ax.annotate(name, (cost, rate), fontsize=7, xytext=(4, 3), textcoords="offset points")
    front = sorted((p for p in points if p[0] in frontier), key=lambda p: p[1])
    if front:
        ax.step(
            [p[1] for p in front],
            [p[2] for p in front],
            where="post",
            color="black",
            lw=0.8,
            ls="--",
            label="Pareto frontier",
        )
        ax.legend(loc="lower right", fontsize=7)
    no_pass = [n for n, v in layers.items() if v.get("per_pass") is None and v.get("episodes")]
    title = "pass rate vs cost-per-pass"
    if no_pass:
        title += f" ({len(no_pass)} route(s) with no pass not shown)"
    ax.set_title(title, fontsize=9)
    costs = [p[1] for p in points]
    if costs and min(costs) > 0 and max(costs) / min(costs) > 20:  # log only when costs span decades
        ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"${x:g}"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda _x, _pos: ""))
    ax.set_xlabel("cost per pass ($, incl. failure overheads)", fontsize=8)
    ax.set_ylabel("pass rate (95 %, clustered by task)", fontsize=8)
    ax.set_ylim(-0.02, 1.02)
    ax.tick_params(labelsize=7)
    fig.subplots_adjust(left=0.1, right=0.97, top=0.92, bottom=0.12)  # tight_layout costs ~0.2 s a figure
    fig.savefig(path)
    plt.close(fig)
    return path


def cost_by_layer(layers: dict[str, dict[str, Any]], cells: list[str], path: Path) -> Path:
    """One panel per layer (their units differ), one bar per cell of the model."""
    fig, axes = plt.subplots(
        1, len(LAYERS), figsize=(9.6, 0.5 + 0.32 * max(len(cells), 2)), dpi=90, sharey=True
    )
    for ax, layer in zip(axes, LAYERS, strict=True):
        values = [layers[c].get(layer) for c in cells]
        shown = [v if v is not None else 0.0 for v in values]
        bars = ax.barh(range(len(cells)), shown, color=HIGHLIGHT)
        for bar, v in zip(bars, values, strict=True):
            if v is None:
                ax.text(0, bar.get_y() + bar.get_height() / 2, " ∞ / n.a.", va="center", fontsize=7)
        ax.set_title(LAYER_TITLES[layer], fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_yticks(range(len(cells)), labels=cells)
    axes[0].invert_yaxis()
    height = fig.get_figheight()
    left = min(0.45, 0.02 + 0.0075 * max((len(c) for c in cells), default=4))  # room for the cell labels
    fig.subplots_adjust(left=left, right=0.98, top=1 - 0.3 / height, bottom=0.35 / height, wspace=0.25)
    fig.savefig(path)
    plt.close(fig)
    return path
