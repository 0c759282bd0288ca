"""What every price model shares: the calls it bills (as arrays), how it reports itself, its Protocol."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from perpass.config import CloudPrices, LocalCosts, PriceTier, PricingDefault
from perpass.endpoints.billing import CallUsage as CallUsage  # re-exported: what every price model bills

if TYPE_CHECKING:
    from perpass.analysis.store_data import RouteInfo

LocalTime = Literal["compute", "wall"]


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
