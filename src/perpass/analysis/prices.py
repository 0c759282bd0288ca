"""What a call, an episode and a failure cost: route prices, owned-hardware costs and overheads.

Prices come from the store (each config carries its route's `prices` / `local_costs`) and can be
overridden by a prices file or a routes file, so a finished run is re-priced without re-running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from perpass.analysis.pricemodels import LocalTime, PriceContext, PriceModel, Pricing, price_model_for
from perpass.analysis.store_data import RouteInfo, StoreData
from perpass.config import CloudPrices, LocalCosts, load_yaml, validation_error
from perpass.endpoints.kinds import kind_of
from perpass.endpoints.routes import load_routes
from perpass.errors import UserError

__all__ = ["Costs", "Overheads", "PriceBook", "PriceModel", "Pricing", "bill", "episode_costs", "pricing_for"]


class Overheads(BaseModel):
    """What a failed attempt costs beyond its tokens. Defaults are a documented guess; change them.

    - reviewer_minutes × reviewer_hourly: a person looks at every failed attempt;
    - false_done_drag: extra cost when the agent said "done" and the verifier disagreed
      (a wrong merge caught later, trust lost);
    - max_attempts: retry policy, attempts per task before giving up (1 = no retry).
    """

    model_config = ConfigDict(extra="forbid")
    reviewer_minutes: float = Field(2.0, ge=0)
    reviewer_hourly: float = Field(60.0, ge=0)
    false_done_drag: float = Field(1.0, ge=0)
    max_attempts: int = Field(1, ge=1, le=100)

    @property
    def per_review(self) -> float:
        """$ of the reviewer's look at one failed attempt."""
        return self.reviewer_minutes / 60.0 * self.reviewer_hourly

    def per_failure(self, false_done: Any) -> Any:
        """Overhead of one failed attempt: the review, plus the drag when the agent said "done".

        `false_done` is 1/0 for one attempt (or an array of them), or the expected share of false
        dones among failures (the calculator's `false_done_share`): the one formula both use."""
        return self.per_review + false_done * self.false_done_drag


class RoutePriceOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prices: CloudPrices | None = None
    local_costs: LocalCosts | None = None
    provider: str | None = Field(None, description="price the route as this provider in the price database")


class PricesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    overheads: Overheads = Overheads()
    min_pass_rate: float = Field(0.5, ge=0, le=1)
    routes: dict[str, RoutePriceOverride] = {}


@dataclass
class PriceBook:
    """Overrides by cell label, route name or model key (most specific wins) plus overheads."""

    overrides: dict[str, RoutePriceOverride] = field(default_factory=dict)
    overheads: Overheads = field(default_factory=Overheads)
    min_pass_rate: float = 0.5
    source: str = "store"
    strict_keys: set[str] = field(default_factory=set)  # names from a prices file: must exist in the store
    at: datetime | None = None  # database prices as on this date; None: today
    local_time: LocalTime = "compute"  # local routes: priced by the server's compute time, or wall time
    reread_usage: bool = False  # read calls' counts again from their stored raw usage (perpass reprice)

    def for_route(self, route: RouteInfo) -> RoutePriceOverride | None:
        for key in (route.label, route.route_name, route.model_key):
            if key in self.overrides:
                return self.overrides[key]
        return None

    def check_known(self, routes: list[RouteInfo]) -> None:
        """Unknown names in a prices file are a typo, not a silent no-op."""
        known = {k for r in routes for k in (r.label, r.route_name, r.model_key)}
        unknown = sorted(self.strict_keys - known)
        if unknown:
            raise UserError(
                f"{self.source}: unknown route(s) {', '.join(unknown)}; "
                f"the store has: {', '.join(sorted(r.label for r in routes)) or '(none)'}"
            )


def load_price_book(path: Path | None) -> PriceBook:
    """A prices file (`routes: {NAME: {prices|local_costs}}`, `overheads`, `min_pass_rate`),
    or a routes.yaml (its routes' prices and local_costs)."""
    if path is None:
        return PriceBook()
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping with 'routes:', 'overheads:' or 'min_pass_rate:'")
    routes = data.get("routes")
    if isinstance(routes, dict) and any(isinstance(v, dict) and "kind" in v for v in routes.values()):
        return price_book_from_routes_file(path)
    try:
        parsed = PricesFile(**data)
    except ValidationError as err:
        raise validation_error(path, err) from None
    return PriceBook(parsed.routes, parsed.overheads, parsed.min_pass_rate, str(path), set(parsed.routes))


def merge_books(prices: PriceBook, routes: PriceBook) -> PriceBook:
    """A routes file supplies prices by route name; a prices file wins where both name a route."""
    merged = {**routes.overrides, **prices.overrides}
    return PriceBook(merged, prices.overheads, prices.min_pass_rate, prices.source, prices.strict_keys,
                     prices.at, prices.local_time, prices.reread_usage)


def price_book_from_routes_file(path: Path) -> PriceBook:
    overrides = {
        name: RoutePriceOverride(prices=r.prices, local_costs=r.local_costs)
        for name, r in load_routes(path).items()
        if r.prices or r.local_costs
    }
    return PriceBook(overrides, source="routes")


def pricing_for(route: RouteInfo, book: PriceBook, ran_at: datetime | None = None) -> PriceModel:
    """The price model that bills this route (see `perpass.analysis.pricemodels`). Database prices are
    those in force when the route ran (`ran_at`), unless the book asks for another date."""
    override = book.for_route(route)
    prices = (override and override.prices) or route.config.get("prices")
    local = (override and override.local_costs) or route.config.get("local_costs")
    return price_model_for(PriceContext(
        route=route,
        prices=CloudPrices(**prices) if isinstance(prices, dict) else prices,
        local_costs=LocalCosts(**local) if isinstance(local, dict) else local,
        at=book.at or ran_at,
        local_time=book.local_time,
        provider=override.provider if override else None,
        default_pricing=kind_of(route.kind).default_pricing,
    ))


@dataclass
class Costs:
    """What the analysis bills: per episode (the sum of its calls) and per call."""

    episode: np.ndarray
    call: np.ndarray
    pricings: list[PriceModel]
    parts: list[dict[str, float]]  # per route: $ by part (input, cached_input, cache_write, output, ...)


def bill(data: StoreData, book: PriceBook) -> Costs:
    """Every call priced on its own (tiers switch whole calls), vectorised per route; episodes sum calls."""
    started = {run["id"]: run["started_at"] for run in data.runs if run.get("started_at")}
    pricings = [pricing_for(r, book, ran_at(r, started)) for r in data.routes]
    call_route = data.route[data.call_episode] if len(data.call_episode) else np.zeros(0, dtype=np.int64)
    call_costs = np.zeros(len(data.call_episode))
    parts: list[dict[str, float]] = []
    for i, pricing in enumerate(pricings):
        sel = call_route == i
        route_parts = pricing.cost_parts(data.call_usage.take(sel)) if sel.any() else {}
        if route_parts:
            call_costs[sel] = sum(route_parts.values())
        parts.append({name: float(v.sum()) for name, v in route_parts.items()})
    episode = np.bincount(data.call_episode, weights=call_costs, minlength=data.n) if data.n else np.zeros(0)
    return Costs(episode, call_costs, pricings, parts)


def ran_at(route: RouteInfo, started: dict[int, float]) -> datetime | None:
    """When the route's first run started (prices change by date, some by time of day)."""
    times = [started[r] for r in route.run_ids if r in started]
    return datetime.fromtimestamp(min(times), tz=UTC) if times else None


def episode_costs(data: StoreData, book: PriceBook) -> tuple[np.ndarray, list[PriceModel]]:
    """Model cost of every finished episode: the sum of its calls' costs."""
    costs = bill(data, book)
    return costs.episode, costs.pricings


def failure_overheads(data: StoreData, book: PriceBook) -> np.ndarray:
    """Overhead of each episode: reviewer time per failed attempt, plus drag for a false done."""
    failed = ~data.passed & ~data.infra
    false_done = failed & data.submitted
    overheads: np.ndarray = failed * book.overheads.per_failure(false_done)
    return overheads
