"""How one call is billed, shared by the episode's cost budget (agent, gateway) and the analysis's price
models: calls as arrays, the token formula, and the genai-prices database lookup. It sits with the
endpoints because a budget must bill a call while the episode runs, and the layers let the agent import
endpoints but never analysis.

The token formula:

cost = (uncached input × input + cache reads × cached_input + 5-minute writes × cache_write
        + 1-hour writes × cache_write_1h + (output − reasoning) × output + reasoning × reasoning) / 1e6

with each price taken from the highest tier whose `above_prompt_tokens` the CALL's prompt exceeds
(tiers switch the whole call, so a call is priced before calls are summed). This is genai-prices'
formula (`ModelPrice.calc_price`); a test checks the two agree on every recorded usage body.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

import numpy as np

from perpass.config import CloudPrices, PriceTier
from perpass.endpoints.usage import compute_seconds

if TYPE_CHECKING:
    from genai_prices.types import TieredPrices


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


def token_cost_parts(p: CloudPrices, u: CallUsage) -> dict[str, np.ndarray]:
    """$ per call, split by what it paid for (the cards' cost shares)."""
    n = len(u)

    def price(value: float | None) -> np.ndarray:  # NaN: "follow the price this one defaults to"
        return np.full(n, np.nan if value is None else value)

    price_in, price_out = price(p.input), price(p.output)
    price_cached, price_write, price_write_1h = price(p.cached_input), price(p.cache_write), price(p.cache_write_1h)
    for tier in p.tiers:  # lowest first: a higher tier overwrites a lower one
        sel = u.prompt > tier.above_prompt_tokens
        for array, value in ((price_in, tier.input), (price_cached, tier.cached_input),
                             (price_write, tier.cache_write), (price_write_1h, tier.cache_write_1h),
                             (price_out, tier.output)):
            if value is not None:
                array[sel] = value
    # Unset: cache reads and writes at the (tier's) input price, 1-hour writes as writes, reasoning as output.
    price_cached = np.where(np.isnan(price_cached), price_in, price_cached)
    price_write = np.where(np.isnan(price_write), price_in, price_write)
    price_write_1h = np.where(np.isnan(price_write_1h), price_write, price_write_1h)
    price_reasoning = price_out if p.reasoning is None else price(p.reasoning)
    return {
        "input": (u.prompt - u.cached - u.cache_write) * price_in / 1e6,
        "cached_input": u.cached * price_cached / 1e6,
        "cache_write": ((u.cache_write - u.cache_write_1h) * price_write + u.cache_write_1h * price_write_1h) / 1e6,
        "output": (u.completion - u.reasoning) * price_out / 1e6,
        "reasoning": u.reasoning * price_reasoning / 1e6,
    }


def token_cost(p: CloudPrices, u: CallUsage) -> np.ndarray:
    parts = token_cost_parts(p, u)
    total: np.ndarray = sum(parts.values(), np.zeros(len(u)))
    return total


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
    from genai_prices import data_snapshot  # ~100 ms: only when a price is looked up, not at every CLI start

    snapshot = data_snapshot.get_snapshot()
    try:
        found_provider, info = snapshot.find_provider_model(model, None, provider, None if provider else api_url)
    except LookupError:
        return None
    price = info.get_prices(at or datetime.now(tz=UTC))
    return DatabaseEntry(found_provider.id, info.id, to_cloud_prices({k: getattr(price, k, None) for k in PRICE_KEYS}))


def to_cloud_prices(values: dict[str, Decimal | TieredPrices | None]) -> CloudPrices:
    """genai-prices' per-key tiers as perpass's whole-call tiers (one tier per distinct threshold)."""
    from genai_prices.types import TieredPrices

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
