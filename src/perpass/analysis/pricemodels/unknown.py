"""No price anywhere (no `prices:`, a model the database does not know): every cost is NaN, shown as
"unknown" on cards and the report, never as $0."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perpass.analysis.pricemodels.base import CallUsage, PriceContext, Pricing
from perpass.config import CloudPrices, LocalCosts


@dataclass
class UnknownPrices:
    model: str
    kind: str = "unknown"
    prices: CloudPrices | None = None
    local: LocalCosts | None = None

    @classmethod
    def for_route(cls, ctx: PriceContext) -> UnknownPrices:
        return cls(ctx.route.model)

    def cost_parts(self, calls: CallUsage) -> dict[str, np.ndarray]:
        return {"unknown": np.full(len(calls), np.nan)}

    def describe(self) -> Pricing:
        return Pricing(kind="unknown", source="unknown",
                       note=f"PRICE UNKNOWN: the price database has no {self.model!r} and the route gives no "
                            "prices; give them in routes.yaml (prices:) or --prices FILE")
