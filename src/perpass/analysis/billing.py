"""What a route's bill is made of, checked against what the endpoint reported, and which of its
episodes were measured on a busy machine."""

from __future__ import annotations

import numpy as np

from perpass.analysis.prices import Costs
from perpass.analysis.results import Billing, ReportedCost
from perpass.analysis.store_data import StoreData
from perpass.endpoints.kinds import kind_of

DISAGREEMENT = 0.01  # ours vs the endpoint's reported cost: more than 1 % apart is flagged
SLOW_DECODE = 0.5  # an episode decoding below half its cell's median speed was slowed by something else


def route_billing(data: StoreData, costs: Costs, contended: np.ndarray, route: int) -> Billing:
    """`contended`: `contended_episodes(data)`, computed once for every route."""
    parts = costs.parts[route]
    total = sum(parts.values())
    shares = {name: value / total for name, value in parts.items()} if total and np.isfinite(total) else {}
    calls = data.route[data.call_episode] == route
    contended = contended & (data.route == route) & ~data.infra
    return Billing(
        cost_shares=shares,
        cut_short_calls=int((data.call_aborted & calls).sum()),
        reported=reported_cost(data, costs, calls),
        contended_episodes=int(contended.sum()),
        contended_wall_limits=int((contended & (data.stop_reason == "wall_limit")).sum()),
    )


def reported_cost(data: StoreData, costs: Costs, calls: np.ndarray) -> ReportedCost | None:
    sel = calls & ~np.isnan(data.call_provider_cost)
    if not sel.any():
        return None
    ours, theirs = float(costs.call[sel].sum()), float(data.call_provider_cost[sel].sum())
    known = bool(np.isfinite(ours))
    disagree = not known or abs(ours - theirs) > DISAGREEMENT * max(abs(theirs), 1e-12)
    return ReportedCost(calls=int(sel.sum()), ours=ours if known else None, theirs=theirs, disagree=disagree)


def contended_episodes(data: StoreData) -> np.ndarray:
    """Load above the host's cores (any route: the agent's commands slow down too), or, for local
    routes, decode speed far below the median of the episode's cell."""
    busy = np.nan_to_num(data.host_load, nan=0.0) > np.nan_to_num(data.host_cpus, nan=np.inf)
    tokens = np.where(data.decode_seconds > 0, data.decode_tokens, data.completion)
    seconds = np.where(data.decode_seconds > 0, data.decode_seconds, data.call_seconds)
    speed = np.divide(tokens, seconds, out=np.full(data.n, np.nan), where=(seconds > 0) & (tokens > 0))
    slow = np.zeros(data.n, dtype=bool)
    for r in range(len(data.routes)):
        sel = (data.route == r) & ~np.isnan(speed)
        if kind_of(data.routes[r].kind).default_pricing == "local" and sel.sum() >= 3:
            slow[sel] = speed[sel] < SLOW_DECODE * np.median(speed[sel])
    flagged: np.ndarray = busy | slow
    return flagged
