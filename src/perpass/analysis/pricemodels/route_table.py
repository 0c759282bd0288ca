"""The user's own prices (routes.yaml `prices:` or a prices file): they win over the database."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perpass.analysis.pricemodels.base import CallUsage, PriceContext, Pricing
from perpass.config import CloudPrices, LocalCosts
from perpass.endpoints.billing import token_cost_parts


@dataclass
class RouteTablePrices:
    prices: CloudPrices
    kind: str = "cloud"
    local: LocalCosts | None = None

    @classmethod
    def for_route(cls, ctx: PriceContext) -> RouteTablePrices | None:
        return cls(ctx.prices) if ctx.prices is not None else None

    def cost_parts(self, calls: CallUsage) -> dict[str, np.ndarray]:
        return token_cost_parts(self.prices, calls)

    def describe(self) -> Pricing:
        return Pricing(kind="cloud", source="route-table", **self.prices.model_dump())
