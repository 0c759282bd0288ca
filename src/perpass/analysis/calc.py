"""`perpass calc FILE`: the what-if calculator for people without runs yet.

Each route gives per-token prices (or owned-hardware costs and seconds per call), the mean
prompt / completion tokens per call, calls per attempt and a pass rate; the file gives the
failure overheads. Out come the four layers and every inversion between them:
    per_call    = tokens × prices
    per_episode = per_call × calls_per_attempt
    per_pass    = (per_episode + (1 − p) × overhead per failure) / p
(with independent retries, the retry limit does not change this ratio, only how often a task
is finally solved, so it is not an input here).
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from perpass.analysis import stats
from perpass.analysis.inversions import LAYER_STEPS, compare
from perpass.analysis.layers import LAYERS
from perpass.analysis.money import money
from perpass.analysis.pricemodels import CallUsage
from perpass.analysis.prices import Overheads
from perpass.config import CloudPrices, LocalCosts, load_yaml, validation_error
from perpass.endpoints.billing import token_cost
from perpass.errors import UserError


class CalcOverheads(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reviewer_minutes: float = Field(0.0, ge=0)
    reviewer_hourly: float = Field(0.0, ge=0)
    false_done_drag: float = Field(0.0, ge=0)
    false_done_share: float = Field(0.5, ge=0, le=1)  # of failures, how many said "done" wrongly

    @property
    def per_failure(self) -> float:
        """Expected overhead of one failed attempt: `Overheads.per_failure` at the false-done share."""
        overheads = Overheads(
            reviewer_minutes=self.reviewer_minutes,
            reviewer_hourly=self.reviewer_hourly,
            false_done_drag=self.false_done_drag,
        )
        return float(overheads.per_failure(self.false_done_share))


class CalcRoute(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prices: CloudPrices | None = None
    local_costs: LocalCosts | None = None
    seconds_per_call: float | None = Field(None, ge=0)  # local routes: measured wall time of one call
    prompt_tokens: float = Field(ge=0)
    cached_prompt_tokens: float = Field(0.0, ge=0)
    completion_tokens: float = Field(ge=0)
    reasoning_tokens: float = Field(0.0, ge=0)
    calls_per_attempt: float = Field(1.0, gt=0)
    pass_rate: float = Field(ge=0, le=1)
    note: str | None = None

    @model_validator(mode="after")
    def _priced(self) -> CalcRoute:
        if self.prices is None and self.local_costs is None:
            raise ValueError("give prices ($ per 1M tokens) or local_costs with seconds_per_call")
        if self.local_costs is not None and self.seconds_per_call is None:
            raise ValueError("local_costs need seconds_per_call (measured wall time of one call)")
        if self.cached_prompt_tokens > self.prompt_tokens or self.reasoning_tokens > self.completion_tokens:
            raise ValueError(
                "cached ⊂ prompt tokens and reasoning ⊂ completion tokens: they cannot be larger"
            )
        return self


class CalcFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    overheads: CalcOverheads = CalcOverheads()
    routes: dict[str, CalcRoute]
    what_if: dict[str, CalcOverheads] = {}  # other overhead settings to compare against


def load_calc(path: Path) -> CalcFile:
    data = load_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("routes"), dict) or not data["routes"]:
        raise UserError(f"{path}: expected a mapping with 'routes:' (NAME: prices, tokens, pass_rate)")
    try:
        return CalcFile(**data)
    except ValidationError as err:
        raise validation_error(path, err) from None


def route_layers(route: CalcRoute, overheads: CalcOverheads) -> dict[str, Any]:
    if route.prices is not None:
        calls = CallUsage.of(prompt=route.prompt_tokens, cached=route.cached_prompt_tokens,
                             completion=route.completion_tokens, reasoning=route.reasoning_tokens)
        per_call = float(token_cost(route.prices, calls)[0])
    else:
        assert route.local_costs is not None and route.seconds_per_call is not None
        per_call = route.seconds_per_call * route.local_costs.hourly / 3600
    tokens = route.prompt_tokens + route.completion_tokens
    per_episode = per_call * route.calls_per_attempt
    p = route.pass_rate
    per_pass = stats.ratio(per_episode + (1 - p) * overheads.per_failure, p)
    return {
        "per_token": per_call / tokens * 1e6 if tokens else None,
        "per_call": per_call,
        "per_episode": per_episode,
        "per_pass": stats.finite_or_none(per_pass),
        "per_pass_text": "∞ (pass rate 0)" if p == 0 else money(per_pass),
        "pass_rate": p,
        "overhead_per_failure": overheads.per_failure,
    }


def calc(path: Path) -> dict[str, Any]:
    """The `perpass calc FILE --json` object."""
    spec = load_calc(path)
    out = scenario(spec, spec.overheads)
    out["what_if"] = {name: scenario(spec, overheads) for name, overheads in spec.what_if.items()}
    return out


def scenario(spec: CalcFile, overheads: CalcOverheads) -> dict[str, Any]:
    routes = {name: route_layers(r, overheads) for name, r in spec.routes.items()}
    return {
        "routes": routes,
        "overheads": overheads.model_dump(),
        "rankings": {
            layer: sorted(
                (n for n in routes if routes[n][layer] is not None or layer == "per_pass"),
                key=lambda n: (value(routes[n], layer), n),
            )
            for layer in LAYERS
        },
        "inversions": value_inversions(routes),
    }


def value(layers: dict[str, Any], layer: str) -> float:
    v = layers[layer]
    return stats.INF if v is None else v


def value_inversions(routes: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for x, y in combinations(sorted(routes), 2):
        for first, second in LAYER_STEPS:
            if routes[x][first] is None or routes[y][first] is None:
                continue
            vx1, vy1 = value(routes[x], first), value(routes[y], first)
            vx2, vy2 = value(routes[x], second), value(routes[y], second)
            if compare(vx1, vy1) * compare(vx2, vy2) != -1:
                continue
            a, b = (x, y) if vx1 < vy1 else (y, x)
            out.append(
                {
                    "a": a,
                    "b": b,
                    "from_layer": first,
                    "to_layer": second,
                    "from": {a: routes[a][first], b: routes[b][first]},
                    "to": {a: routes[a][second], b: routes[b][second]},
                    "text": f"{a} is cheaper {first.replace('_', '-')} but dearer {second.replace('_', '-')}"
                    f" ({money(routes[a][second])} vs {money(routes[b][second])})",
                }
            )
    return out
