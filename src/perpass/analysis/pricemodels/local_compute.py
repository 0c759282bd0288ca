"""Owned hardware: $ per hour × the server's compute time: its own prompt + decode timings
(llama-server, Ollama), else its CPU seconds during the call over its threads (llama-cpp-python).

Wall time counts the waiting of a busy machine as model cost; compute time does not. Calls with
neither (a store from before either was recorded) fall back to their wall time. `--local-time wall`
prices by wall time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perpass.analysis.pricemodels.base import CallUsage, LocalTime, PriceContext, Pricing
from perpass.config import CloudPrices, LocalCosts


@dataclass
class LocalComputePrices:
    local: LocalCosts
    local_time: LocalTime = "compute"
    kind: str = "local"
    prices: CloudPrices | None = None

    @classmethod
    def for_route(cls, ctx: PriceContext) -> LocalComputePrices | None:
        if ctx.default_pricing != "local":
            return None
        return cls(ctx.local_costs or LocalCosts(), ctx.local_time)

    def seconds(self, calls: CallUsage) -> np.ndarray:
        if self.local_time == "wall":
            return calls.wall_s
        return np.where(np.isnan(calls.compute_s), calls.wall_s, calls.compute_s)

    def cost_parts(self, calls: CallUsage) -> dict[str, np.ndarray]:
        return {"compute": self.seconds(calls) * self.local.hourly / 3600.0}

    def describe(self) -> Pricing:
        return Pricing(kind="local", source="local-compute", hourly=self.local.hourly, local_time=self.local_time,
                       **self.local.model_dump())
