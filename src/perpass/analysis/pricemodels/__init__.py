"""Price models by name: which one bills a route is the first in PRICE_MODELS that applies to it.

The user's own prices win, then owned hardware for local routes, then free test routes, then the
price database; a route none of them prices is priced as unknown (NaN, shown loudly), never as 0.
A new price model is one file with a class following `PriceModel` and one line here.
"""

from __future__ import annotations

import numpy as np

from perpass.analysis.pricemodels.base import CallUsage, LocalTime, PriceContext, PriceModel, Pricing
from perpass.analysis.pricemodels.database import DatabasePrices
from perpass.analysis.pricemodels.free import FreePrices
from perpass.analysis.pricemodels.local_compute import LocalComputePrices
from perpass.analysis.pricemodels.route_table import RouteTablePrices
from perpass.analysis.pricemodels.unknown import UnknownPrices

PRICE_MODELS: dict[str, type[PriceModel]] = {
    "route-table": RouteTablePrices,
    "local-compute": LocalComputePrices,
    "free": FreePrices,
    "database": DatabasePrices,
    "unknown": UnknownPrices,  # always applies: the last resort
}


def call_costs(model: PriceModel, calls: CallUsage) -> np.ndarray:
    """$ per call under one price model."""
    return sum(model.cost_parts(calls).values(), np.zeros(len(calls)))


def price_model_for(ctx: PriceContext) -> PriceModel:
    for model in PRICE_MODELS.values():
        found = model.for_route(ctx)
        if found is not None:
            return found
    raise AssertionError("UnknownPrices applies to every route")


__all__ = ["PRICE_MODELS", "CallUsage", "LocalTime", "PriceContext", "PriceModel", "Pricing", "call_costs",
           "price_model_for"]
