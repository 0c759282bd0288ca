"""The token formula every per-token price model bills with, vectorised and correct under tiers.

cost = (uncached input × input + cache reads × cached_input + 5-minute writes × cache_write
        + 1-hour writes × cache_write_1h + (output − reasoning) × output + reasoning × reasoning) / 1e6

with each price taken from the highest tier whose `above_prompt_tokens` the CALL's prompt exceeds
(tiers switch the whole call, so a call is priced before calls are summed). This is genai-prices'
formula (`ModelPrice.calc_price`); a test checks the two agree on every recorded usage body.
"""

from __future__ import annotations

import numpy as np

from perpass.analysis.pricemodels.base import CallUsage
from perpass.config import CloudPrices


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
