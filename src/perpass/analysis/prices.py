"""What a call, an episode and a failure cost: route prices, owned-hardware costs and overheads.

Prices come from the store (each config carries its route's `prices` / `local_costs`) and can be
overridden by a prices file or a routes file, so a finished run is re-priced without re-running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from perpass.analysis.store_data import RouteInfo, StoreData
from perpass.config import CloudPrices, LocalCosts, load_yaml, validation_error
from perpass.endpoints.kinds import kind_of
from perpass.endpoints.routes import load_routes
from perpass.errors import UserError


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
    return PriceBook(merged, prices.overheads, prices.min_pass_rate, prices.source, prices.strict_keys)


def price_book_from_routes_file(path: Path) -> PriceBook:
    overrides = {
        name: RoutePriceOverride(prices=r.prices, local_costs=r.local_costs)
        for name, r in load_routes(path).items()
        if r.prices or r.local_costs
    }
    return PriceBook(overrides, source="routes")


class Pricing(BaseModel):
    """How a route is billed, as reported: cloud ($ per 1M tokens), local (owned hardware) or free."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["cloud", "local", "free"]
    input: float | None = None
    cached_input: float | None = None
    cache_write: float | None = None
    output: float | None = None
    reasoning: float | None = None
    hourly: float | None = Field(None, description="local: $ per hour of model time")
    hardware_price: float | None = None
    amortization_hours: float | None = None
    watts: float | None = None
    kwh_price: float | None = None


@dataclass
class RoutePricing:
    """How one route is billed: cloud per token, or local per second of model time."""

    kind: str  # cloud | local | free
    prices: CloudPrices | None = None
    local: LocalCosts | None = None

    def cost(self, prompt: Any, cached: Any, completion: Any, reasoning: Any, seconds: Any) -> Any:
        """$ for one call or episode (scalars), or many at once (arrays): tokens for cloud, time for local."""
        if self.kind == "local" and self.local:
            return seconds * self.local.hourly / 3600.0
        if self.kind == "cloud" and self.prices:
            return cloud_cost(self.prices, prompt, cached, completion, reasoning)
        return 0.0 * seconds

    def describe(self) -> Pricing:
        if self.kind == "local" and self.local:
            return Pricing(kind="local", hourly=self.local.hourly, **self.local.model_dump())
        if self.kind == "cloud" and self.prices:
            return Pricing(kind="cloud", **self.prices.model_dump())
        return Pricing(kind="free")


def pricing_for(route: RouteInfo, book: PriceBook) -> RoutePricing:
    override = book.for_route(route)
    default = kind_of(route.kind).default_pricing
    if default == "local":
        local = (override and override.local_costs) or route.config.get("local_costs")
        if isinstance(local, dict):
            local = LocalCosts(**local)
        return RoutePricing("local", local=local or LocalCosts())
    prices = (override and override.prices) or route.config.get("prices")
    if isinstance(prices, dict):
        prices = CloudPrices(**prices)
    if prices is None:
        if default == "free":
            return RoutePricing("free")
        raise UserError(
            f"route {route.label} ({route.kind}) has no prices in the store; give them with "
            f"--prices FILE (routes: {{{route.label}: {{prices: {{input: …, output: …}}}}}})"
        )
    return RoutePricing("cloud", prices=prices)


def episode_costs(data: StoreData, book: PriceBook) -> tuple[np.ndarray, list[RoutePricing]]:
    """Model cost of every finished episode, vectorised per route."""
    costs = np.zeros(data.n)
    pricings = [pricing_for(r, book) for r in data.routes]
    for i, pricing in enumerate(pricings):
        sel = data.route == i
        if not sel.any():
            continue
        costs[sel] = pricing.cost(data.prompt[sel], data.cached[sel], data.completion[sel], data.reasoning[sel],
                                  data.call_seconds[sel])
    return costs, pricings


def cloud_cost(p: CloudPrices, prompt: Any, cached: Any, completion: Any, reasoning: Any) -> Any:
    """$ for token counts (scalars or arrays). Cached ⊂ prompt, reasoning ⊂ completion: never billed twice."""
    return p.cost_usd(prompt, cached, completion, reasoning)


def failure_overheads(data: StoreData, book: PriceBook) -> np.ndarray:
    """Overhead of each episode: reviewer time per failed attempt, plus drag for a false done."""
    failed = ~data.passed & ~data.infra
    false_done = failed & data.submitted
    overheads: np.ndarray = failed * book.overheads.per_failure(false_done)
    return overheads
