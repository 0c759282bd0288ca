"""Prices from genai-prices (PyPI), a maintained per-provider database with tiers, cache reads and
writes and price history by date. The route's endpoint URL names the provider (or a prices file's
`provider:`); an endpoint the database does not know (a local server) gets no database price."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from perpass.analysis.pricemodels.base import CallUsage, PriceContext, Pricing
from perpass.config import CloudPrices, LocalCosts, PriceTier
from perpass.endpoints.billing import SOURCE, DatabaseEntry, database_version, lookup, token_cost_parts


class PriceQuote(BaseModel):
    """What `perpass prices show MODEL --json` prints: $ per 1M tokens, whole-call tiers."""

    model_config = ConfigDict(extra="forbid")
    source: str
    version: str
    provider: str
    model: str
    at: str = Field(description="the date the prices are in force on")
    input: float
    cached_input: float | None
    cache_write: float | None
    cache_write_1h: float | None
    output: float
    reasoning: float | None
    tiers: list[PriceTier]


def quote(model: str, provider: str | None = None, at: datetime | None = None) -> PriceQuote | None:
    entry = lookup(model, provider=provider, at=at)
    if entry is None:
        return None
    when = (at or datetime.now(tz=UTC)).date().isoformat()
    return PriceQuote(source=SOURCE, version=database_version(), provider=entry.provider, model=entry.model,
                      at=when, **entry.prices.model_dump())


@dataclass
class DatabasePrices:
    entry: DatabaseEntry
    at: datetime | None
    kind: str = "cloud"
    local: LocalCosts | None = None

    @property
    def prices(self) -> CloudPrices:
        return self.entry.prices

    @classmethod
    def for_route(cls, ctx: PriceContext) -> DatabasePrices | None:
        base_url = ctx.route.config.get("base_url")
        provider = ctx.provider
        if provider is None and not base_url:
            return None
        entry = lookup(ctx.route.model, provider=provider, api_url=base_url, at=ctx.at)
        return cls(entry, ctx.at) if entry else None

    def cost_parts(self, calls: CallUsage) -> dict[str, np.ndarray]:
        return token_cost_parts(self.entry.prices, calls)

    def describe(self) -> Pricing:
        when = self.at.strftime("%Y-%m-%d %H:%M UTC") if self.at else "today"
        return Pricing(kind="cloud", source=SOURCE, version=database_version(),
                       note=f"{self.entry.provider}/{self.entry.model}, prices as of {when}",
                       **self.entry.prices.model_dump())
