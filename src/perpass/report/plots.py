"""Card plots with matplotlib (Agg, no display): pass rate vs cost-per-pass, and cost by layer."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from perpass import files
from perpass.analysis.layers import LAYER_TITLES, LAYERS  # noqa: E402
from perpass.analysis.money import money  # noqa: E402
from perpass.analysis.results import RouteLayers  # noqa: E402

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


# Where a label may sit around its point, in points of offset, tried in this order.
LABEL_OFFSETS = [(5, 3), (5, -10), (-5, 3), (-5, -10), (5, 12), (-5, 12), (5, -19), (-5, -19), (5, 21), (-5, 21)]


def place_labels(fig: Figure, ax: Axes, items: list[tuple[str, float, float]]) -> list[Text]:
    """Label points so that no two labels overlap and none leaves the figure.

    Greedy, in the order given: each label takes the first offset around its point whose box stays
    inside the figure and clear of the labels already placed; with none free, the first offset that
    stays inside. Matplotlib has no label placement of its own, and adjustText would be one more
    dependency for a dozen labels."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]

    def annotate(name: str, x: float, y: float, dx: int, dy: int) -> Text:
        return ax.annotate(name, (x, y), fontsize=7, xytext=(dx, dy), textcoords="offset points",
                           ha="left" if dx > 0 else "right")

    placed: list[Text] = []
    boxes: list[Bbox] = []
    for name, x, y in items:
        free = inside = None
        for dx, dy in LABEL_OFFSETS:
            probe = annotate(name, x, y, dx, dy)
            box = probe.get_window_extent(renderer)
            probe.remove()
            if not fig.bbox.contains(box.x0, box.y0) or not fig.bbox.contains(box.x1, box.y1):
                continue
            inside = inside or (dx, dy)
            if not any(box.overlaps(other) for other in boxes):
                free = (dx, dy)
                break
        dx, dy = free or inside or LABEL_OFFSETS[0]
        text = annotate(name, x, y, dx, dy)
        placed.append(text)
        boxes.append(text.get_window_extent(renderer))
    return placed


def scatter_figure(layers: dict[str, RouteLayers], highlight: str) -> tuple[Figure, list[Text]]:
    """Every route with a pass; the highlighted model's cells in colour, the frontier as a step line."""
    points = [
        (name, v.per_pass, v.pass_rate)
        for name, v in layers.items()
        if v.per_pass is not None and v.pass_rate is not None
    ]
    frontier = set(pareto_frontier(points))
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=90)
    labelled = []
    for name, cost, rate in points:
        mine = layers[name].model_key == highlight
        lo, hi = layers[name].pass_ci or (rate, rate)
        ax.errorbar(
            cost,
            rate,
            yerr=[[max(rate - lo, 0.0)], [max(hi - rate, 0.0)]],  # an interval may round a hair inside the point
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
            labelled.append((name, cost, rate))
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
    no_pass = [n for n, v in layers.items() if v.per_pass is None and v.episodes]
    title = "pass rate vs cost-per-pass"
    if no_pass:
        title += f" ({len(no_pass)} route(s) with no pass not shown)"
    ax.set_title(title, fontsize=9)
    costs = [p[1] for p in points]
    if costs and min(costs) > 0 and max(costs) / min(costs) > 20:  # log only when costs span decades
        ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: money(x)))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda _x, _pos: ""))
    ax.set_xlabel("cost per pass ($, incl. failure overheads)", fontsize=8)
    ax.set_ylabel("pass rate (95 %, clustered by task)", fontsize=8)
    ax.set_ylim(-0.02, 1.02)
    ax.tick_params(labelsize=7)
    fig.subplots_adjust(left=0.1, right=0.97, top=0.92, bottom=0.12)  # tight_layout costs ~0.2 s a figure
    # Highest first: the labels of the points a reader looks for first get the first pick of places.
    labels = place_labels(fig, ax, sorted(labelled, key=lambda p: (-p[2], p[1])))
    return fig, labels


def pass_vs_cost(layers: dict[str, RouteLayers], highlight: str, path: Path) -> Path:
    fig, _ = scatter_figure(layers, highlight)
    with files.atomic_path(path) as tmp:  # a killed `perpass card` leaves no half-written plot
        fig.savefig(tmp)
    plt.close(fig)
    return path


def cost_by_layer(layers: dict[str, RouteLayers], cells: list[str], path: Path) -> Path:
    """One panel per layer (their units differ), one bar per cell of the model."""
    fig, axes = plt.subplots(
        1, len(LAYERS), figsize=(9.6, 0.5 + 0.32 * max(len(cells), 2)), dpi=90, sharey=True
    )
    for ax, layer in zip(axes, LAYERS, strict=True):
        values = [layers[c].layer(layer) for c in cells]
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
    with files.atomic_path(path) as tmp:  # a killed `perpass card` leaves no half-written plot
        fig.savefig(tmp)
    plt.close(fig)
    return path
