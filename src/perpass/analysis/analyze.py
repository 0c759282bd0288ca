"""Everything the cards and the decision need, computed once from the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from perpass.analysis import stats
from perpass.analysis.adaptive import AllocationStop, read_stops
from perpass.analysis.layers import TaskTable, layer_summary, task_table
from perpass.analysis.prices import (
    PriceBook,
    RoutePricing,
    episode_costs,
    failure_overheads,
    load_price_book,
)
from perpass.analysis.results import LayerSummary, RouteLayers
from perpass.analysis.store_data import RouteInfo, StoreData, load_store
from perpass.endpoints.kinds import kind_of

DEFAULT_BOOT = 2000


@dataclass
class Analysis:
    """The loaded store, its pricing, and per-task tables keyed by (route index, tier or None)."""

    data: StoreData
    book: PriceBook
    pricings: list[RoutePricing]
    costs: np.ndarray
    overheads: np.ndarray
    n_boot: int
    seed: int
    tables: dict[tuple[int, str | None], TaskTable] = field(default_factory=dict)
    layers: dict[str, RouteLayers] = field(default_factory=dict)
    stops: list[AllocationStop] = field(default_factory=list)  # adaptive runs: cells stopped early
    _counts: dict[int, np.ndarray] = field(default_factory=dict)
    _intervals: dict[tuple[int, str, bytes], tuple[TaskTable, tuple[float, float]]] = field(default_factory=dict)

    def counts(self, n_tasks: int) -> np.ndarray:
        """One resample matrix per number of tasks, reused by every interval over that many tasks
        (common random numbers: comparisons are consistent, and 2,000 resamples stay cheap)."""
        if n_tasks not in self._counts:
            self._counts[n_tasks] = stats.resample_counts(n_tasks, self.n_boot, self.rng(99, n_tasks))
        return self._counts[n_tasks]

    def interval(self, table: TaskTable, on: TaskTable, layer: str) -> tuple[float, float]:
        """`on.interval(layer)`, where `on` is `table` or its subset of shared tasks: each route's interval
        on a task set is computed once however many pairs it appears in."""
        key = (id(table), layer, on.tasks.tobytes())
        held = self._intervals.get(key)
        if held is None or held[0] is not table:  # the table is held too, so its id is never reused
            held = self._intervals[key] = (table, on.interval(layer, self.counts(len(on.tasks))))
        return held[1]

    def rng(self, *salt: int) -> np.random.Generator:
        """A generator per question, so one number never depends on the order others were asked."""
        return np.random.default_rng([self.seed, *salt])

    @property
    def tiers(self) -> list[str]:
        return sorted({str(t) for t in self.data.tier[~self.data.infra]})

    def route_index(self, label: str) -> int:
        for i, r in enumerate(self.data.routes):
            if r.label == label:
                return i
        raise KeyError(label)


def is_reference(route: RouteInfo) -> bool:
    """The oracle plays each task's reference solution: a yardstick in tables, never a production route."""
    return kind_of(route.kind).reference


def as_book(prices: Path | PriceBook | None) -> PriceBook:
    return prices if isinstance(prices, PriceBook) else load_price_book(prices)


def analyze(
    store: Path, prices: Path | PriceBook | None = None, n_boot: int = DEFAULT_BOOT, seed: int = 0
) -> Analysis:
    data = load_store(store)
    book = as_book(prices)
    book.check_known(data.routes)
    costs, pricings = episode_costs(data, book)
    overheads = failure_overheads(data, book)
    an = Analysis(data, book, pricings, costs, overheads, n_boot, seed, stops=read_stops(store))
    tiers = an.tiers
    for r, route in enumerate(data.routes):
        infra_sel = (data.route == r) & data.infra
        table = task_table(data, costs, overheads, r, None, book.overheads.max_attempts)
        an.tables[(r, None)] = table
        per_tier: dict[str, LayerSummary] = {}
        for tier in tiers:
            tier_table = task_table(data, costs, overheads, r, tier, book.overheads.max_attempts)
            if len(tier_table.tasks) == 0:
                continue
            an.tables[(r, tier)] = tier_table
            tier_infra = int((infra_sel & (data.tier == tier)).sum())
            per_tier[tier] = layer_summary(tier_table, an.counts, tier_infra)
        overall = layer_summary(table, an.counts, int(infra_sel.sum()))
        an.layers[route.label] = RouteLayers(
            **overall.model_dump(),
            route=route.label,
            route_name=route.route_name,
            model_key=route.model_key,
            kind=route.kind,
            model=route.model,
            factor=route.factor,
            level=route.level,
            reference=is_reference(route),
            pricing=pricings[r].describe(),
            infra_cost=float(costs[infra_sel].sum()),
            episode_ids=[int(x) for x in data.episode_id[data.route == r]],
            tiers=per_tier,
        )
    return an
