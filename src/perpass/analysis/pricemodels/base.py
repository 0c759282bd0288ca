"""What every price model shares: the calls it bills (as arrays), how it reports itself, its Protocol."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from perpass.config import CloudPrices, LocalCosts, PriceTier, PricingDefault
from perpass.endpoints.usage import compute_seconds

if TYPE_CHECKING:
    from perpass.analysis.store_data import RouteInfo

LocalTime = Literal["compute", "wall"]


@dataclass
class CallUsage:
    """Calls as parallel arrays (one element per call), clamped so that nothing is billed twice:
    cached + cache writes ⊂ prompt, 1-hour writes ⊂ writes, reasoning ⊂ completion.
    `compute_s` is NaN where neither the server's timings nor its CPU time are known."""

    prompt: np.ndarray
    cached: np.ndarray
    cache_write: np.ndarray
    cache_write_1h: np.ndarray
    completion: np.ndarray
    reasoning: np.ndarray
    wall_s: np.ndarray
    compute_s: np.ndarray

    @classmethod
    def of(cls, *, prompt: Any = 0, cached: Any = 0, cache_write: Any = 0, cache_write_1h: Any = 0,
           completion: Any = 0, reasoning: Any = 0, wall_s: Any = 0.0, compute_s: Any = np.nan) -> CallUsage:
        def arr(x: Any) -> np.ndarray:
            return np.nan_to_num(np.atleast_1d(np.asarray(x, dtype=np.float64)), nan=0.0)

        prompt_a, completion_a = arr(prompt), arr(completion)
        cached_a = np.minimum(arr(cached), prompt_a)
        write_a = np.minimum(arr(cache_write), prompt_a - cached_a)
        return cls(prompt_a, cached_a, write_a, np.minimum(arr(cache_write_1h), write_a), completion_a,
                   np.minimum(arr(reasoning), completion_a), arr(wall_s),
                   np.atleast_1d(np.asarray(compute_s, dtype=np.float64)))

    @classmethod
    def from_usage(cls, u: dict[str, Any]) -> CallUsage:
        """One call from a Usage dict (a step's `usage`, a transcript's call, a calls row)."""
        compute = compute_seconds(u)
        return cls.of(prompt=u.get("prompt_tokens") or 0, cached=u.get("cached_prompt_tokens") or 0,
                      cache_write=u.get("cache_write_tokens") or 0,
                      cache_write_1h=u.get("cache_write_1h_tokens") or 0,
                      completion=u.get("completion_tokens") or 0, reasoning=u.get("reasoning_tokens") or 0,
                      wall_s=u.get("latency_s") or 0.0, compute_s=np.nan if compute is None else compute)

    def take(self, sel: np.ndarray) -> CallUsage:
        return CallUsage(*(getattr(self, f)[sel] for f in self.__dataclass_fields__))

    def __len__(self) -> int:
        return len(self.prompt)


class Pricing(BaseModel):
    """How a route is billed, as reported: cloud ($ per 1M tokens), local (owned hardware), free, or
    unknown (no price anywhere: its costs are null, never 0)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["cloud", "local", "free", "unknown"]
    source: str = Field("route-table", description="price model: route-table | database | local-compute | ...")
    version: str | None = Field(None, description="the price database's version, when it came from one")
    input: float | None = None
    cached_input: float | None = None
    cache_write: float | None = None
    cache_write_1h: float | None = None
    output: float | None = None
    reasoning: float | None = None
    tiers: list[PriceTier] = []
    hourly: float | None = Field(None, description="local: $ per hour of model time")
    local_time: LocalTime | None = Field(None, description="local: priced by server compute time or wall time")
    hardware_price: float | None = None
    amortization_hours: float | None = None
    watts: float | None = None
    kwh_price: float | None = None
    note: str | None = None


@dataclass
class PriceContext:
    """What a price model may look at to decide whether it bills a route."""

    route: RouteInfo
    prices: CloudPrices | None  # the user's override (prices file / routes file) or the route's own
    local_costs: LocalCosts | None
    at: datetime | None  # price the calls as on this date (database prices); None: today
    local_time: LocalTime
    provider: str | None = None  # the database's provider id, when the user names one
    default_pricing: PricingDefault = "cloud"  # what the route's kind is billed as when nothing else says


class PriceModel(Protocol):
    """One way of billing a route. Adding one: a file with a class, one line in PRICE_MODELS."""

    @property
    def kind(self) -> str: ...  # cloud | local | free | unknown

    @property
    def prices(self) -> CloudPrices | None: ...  # per-token prices, when billed by tokens

    @property
    def local(self) -> LocalCosts | None: ...  # owned hardware, when billed by time

    @classmethod
    def for_route(cls, ctx: PriceContext) -> PriceModel | None:
        """This model for the route, or None when it does not apply (the next one is tried)."""
        ...

    def cost_parts(self, calls: CallUsage) -> dict[str, np.ndarray]:
        """$ per call, by what it paid for (their sum is the call's cost); NaN where unknown, never 0."""
        ...

    def describe(self) -> Pricing: ...
