"""Prices from genai-prices (PyPI), a maintained per-provider database with tiers, cache reads and
writes and price history by date. The route's endpoint URL names the provider (or a prices file's
`provider:`); an endpoint the database does not know (a local server) gets no database price."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from importlib.metadata import version
from typing import Any

import numpy as np
from genai_prices import data_snapshot
from genai_prices.types import TieredPrices
from pydantic import BaseModel, ConfigDict, Field

from perpass.analysis.pricemodels.base import CallUsage, PriceContext, Pricing
from perpass.analysis.pricemodels.tokens import token_cost_parts
from perpass.config import CloudPrices, LocalCosts, PriceTier

SOURCE = "genai-prices"
# genai-prices price key -> CloudPrices field
PRICE_KEYS = {"input_mtok": "input", "cache_read_mtok": "cached_input", "cache_write_mtok": "cache_write",
              "cache_write_1h_mtok": "cache_write_1h", "output_mtok": "output", "output_reasoning_mtok": "reasoning"}


def database_version() -> str:
    return version("genai-prices")


@dataclass
class DatabaseEntry:
    provider: str
    model: str
    prices: CloudPrices


def lookup(model: str, *, provider: str | None = None, api_url: str | None = None,
           at: datetime | None = None) -> DatabaseEntry | None:
    """The database's prices for MODEL at a provider (by id or API URL) as on date `at` (default now)."""
    snapshot = data_snapshot.get_snapshot()
    try:
        found_provider, info = snapshot.find_provider_model(model, None, provider, None if provider else api_url)
    except LookupError:
        return None
    price = info.get_prices(at or datetime.now(tz=UTC))
    return DatabaseEntry(found_provider.id, info.id, to_cloud_prices({k: getattr(price, k, None) for k in PRICE_KEYS}))


def to_cloud_prices(values: dict[str, Decimal | TieredPrices | None]) -> CloudPrices:
    """genai-prices' per-key tiers as perpass's whole-call tiers (one tier per distinct threshold)."""
    base: dict[str, Any] = {}
    starts: set[int] = set()
    for key, value in values.items():
        if isinstance(value, TieredPrices):
            base[PRICE_KEYS[key]] = float(value.base)
            starts.update(t.start for t in value.tiers)
        elif value is not None:
            base[PRICE_KEYS[key]] = float(value)
    tiers = []
    for start in sorted(starts):
        tier: dict[str, Any] = {"above_prompt_tokens": start}
        for key, value in values.items():
            if isinstance(value, TieredPrices) and PRICE_KEYS[key] != "reasoning":
                reached = [t for t in value.tiers if t.start <= start]
                if reached:
                    tier[PRICE_KEYS[key]] = float(reached[-1].price)
        tiers.append(PriceTier(**tier))
    return CloudPrices(**base, tiers=tiers)


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
