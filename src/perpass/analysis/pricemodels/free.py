"""Test routes (scripted replies, the oracle): no model bill unless the user prices them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perpass.analysis.pricemodels.base import CallUsage, PriceContext, Pricing
from perpass.config import CloudPrices, LocalCosts


@dataclass
class FreePrices:
    kind: str = "free"
    prices: CloudPrices | None = None
    local: LocalCosts | None = None

    @classmethod
    def for_route(cls, ctx: PriceContext) -> FreePrices | None:
        return cls() if ctx.default_pricing == "free" else None

    def cost_parts(self, calls: CallUsage) -> dict[str, np.ndarray]:
        return {"free": np.zeros(len(calls))}

    def describe(self) -> Pricing:
        return Pricing(kind="free", source="free")
