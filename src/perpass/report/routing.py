"""perpass's routing file: per tier, which route gets the work, with the config it was ranked with.

Routes are named as in the routes file they came from (`perpass smoke NAME --routes FILE` checks
one), and each carries the full config it was ranked with (a plan may change a route's sampling,
serving or harness settings), so what runs in production is what was measured. LiteLLM fallbacks
fire on errors only, never on failed work: the cascade on failed work lives here.
"""

from __future__ import annotations

import math
import shlex
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from perpass import files
from perpass.analysis.analyze import Analysis
from perpass.analysis.prices import Overheads, Pricing
from perpass.analysis.results import Decision, Interval, RateInterval, TierDecision
from perpass.analysis.store_data import RouteInfo
from perpass.endpoints.kinds import Route, kind_of
from perpass.endpoints.routes import builtin_routes, load_routes
from perpass.errors import UserError

ROUTING_VERSION: Literal[2] = 2
ROUTING_HEADER = """\
# perpass routing file (version {version}), written by `perpass decide` from {store}
# Per tier: send work to `primary` (a route of the routes file, ranked with `configs[config]`); on an
# endpoint error use `fallback`; `cascade` (when `beats_primary`): send to `first`, and when its work
# fails verification, send the task to `then`. Costs are $ per verified pass, incl. failure overheads.
# Check a route before use: the `smoke` command of its config.
"""
# Route settings carried into the routing file: what the ranked config was (scripts and prices aside).
CONFIG_KEYS = ("model", "kind", "base_url", "api_key_env", "gguf", "timeout_s", "max_retries", "sampling",
               "serving", "harness")


class RoutingModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RouteRef(RoutingModel):
    route: str = Field(description="the route's name in its routes file (or a built-in route)")
    config: str = Field(description="the ranked config: a key of `configs` (the cell label)")


class RoutedConfig(RoutingModel):
    """One ranked config: which route it is, where that route is defined, and every setting it ran with."""

    route: str
    routes_file: str | None = Field(description="where the route is defined; null: a built-in route")
    smoke: str = Field(description="the command that checks the route")
    settings: dict[str, Any]
    changed_from_routes_file: dict[str, Any] | None = Field(
        description="settings the plan changed from the routes file (null: routes file unknown)"
    )
    config_hash: str
    pricing: Pricing


class RoutedCascade(RoutingModel):
    first: RouteRef
    then: RouteRef
    cost_per_pass: float
    ci: Interval
    pass_rate: float
    pass_ci: RateInterval
    beats_primary: bool
    note: str | None = None


class RoutedEvidence(RoutingModel):
    store: str
    episodes: int
    episode_ids: list[int] = []


class RoutedTier(RoutingModel):
    primary: RouteRef | None
    fallback: RouteRef | None
    cascade: RoutedCascade | None
    expected_cost_per_pass: float | None
    ci: Interval | None
    pass_rate: float | None
    pass_ci: RateInterval | None
    reason: str
    evidence: RoutedEvidence


class RoutingFile(RoutingModel):
    version: Literal[2] = ROUTING_VERSION
    store: str
    min_pass_rate: float
    overheads: Overheads
    tiers: dict[str, RoutedTier]
    configs: dict[str, RoutedConfig]


def sig(x: float | None, digits: int = 4) -> float | None:
    """A money amount to `digits` significant digits; float noise (5.55e-17) is 0, ∞ is None."""
    if x is None or not math.isfinite(x):
        return None
    return 0.0 if abs(x) < 1e-12 else float(f"{x:.{digits}g}")


def rate(x: float | None) -> float | None:
    """A pass rate to 3 decimals (a lower bound of 5.55e-17 is 0.0)."""
    return None if x is None else round(x, 3) + 0.0


def money_ci(ci: Interval | None) -> Interval | None:
    return None if ci is None else (sig(ci[0]), sig(ci[1]))


def rate_ci(ci: RateInterval | None) -> RateInterval | None:
    return None if ci is None else (rate(ci[0]) or 0.0, rate(ci[1]) or 0.0)


def plan_routes(an: Analysis) -> dict[int, tuple[Path, dict[str, Any]]]:
    """run id -> (plan file, its raw YAML): where the plan's own and its routes file's routes are."""
    out: dict[int, tuple[Path, dict[str, Any]]] = {}
    for run in an.data.runs:
        if not run.get("plan_path"):
            continue
        plan = Path(run["plan_path"])
        for candidate in ([plan] if plan.is_absolute() else [Path.cwd() / plan, an.data.path.parent / plan]):
            try:
                data = yaml.safe_load(candidate.read_text())
            except (OSError, yaml.YAMLError, UnicodeDecodeError):
                continue
            if isinstance(data, dict):
                out[int(run["id"])] = (candidate.resolve(), data)
                break
    return out


def route_source(r: RouteInfo, routes_file: Path | None, plans: dict[int, tuple[Path, dict[str, Any]]]
                 ) -> tuple[Path | None, Route | None]:
    """The file that defines route r's name, and the route as written there. A built-in route: (None, it)."""
    candidates: list[Path] = [routes_file] if routes_file else []
    for run_id in r.run_ids:
        if run_id not in plans:
            continue
        plan_path, plan = plans[run_id]
        if isinstance(plan.get("routes"), dict) and r.route_name in plan["routes"]:
            candidates.append(plan_path)  # routes written in the plan itself: it is a routes file too
        if plan.get("routes_file"):
            candidates.append((plan_path.parent / str(plan["routes_file"])).resolve())
    for path in candidates:
        try:
            routes = load_routes(path)
        except UserError:
            continue
        if r.route_name in routes and r.route_name not in builtin_routes():
            return path, routes[r.route_name]
    return None, builtin_routes().get(r.route_name)


def flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def settings_of(config: dict[str, Any]) -> dict[str, Any]:
    settings = {k: config.get(k) for k in CONFIG_KEYS if config.get(k) is not None}
    if not kind_of(str(config.get("kind"))).starts_server:
        settings.pop("serving", None)  # serving settings only start perpass's own local servers
    return settings


def routed_config(an: Analysis, r: RouteInfo, source: Path | None, written: Route | None) -> RoutedConfig:
    settings = settings_of(r.config)
    changed = None
    if written is not None:
        ranked, original = flat(settings), flat(settings_of(written.model_dump()))
        changed = {k: v for k, v in ranked.items() if original.get(k) != v}
    smoke = f"perpass smoke {shlex.quote(r.route_name)}"
    if source is not None:
        smoke += f" --routes {shlex.quote(str(source))}"
    return RoutedConfig(
        route=r.route_name,
        routes_file=str(source) if source else None,
        smoke=smoke,
        settings=settings,
        changed_from_routes_file=changed,
        config_hash=r.config_hash,
        pricing=an.pricings[an.route_index(r.label)].describe(),
    )


def routed_tier(t: TierDecision, ref: dict[str, RouteRef], store: str) -> RoutedTier:
    cascade = None
    if t.cascade:
        c = t.cascade
        note = None if c.beats_primary else (
            f"does not beat the primary ({sig(c.cost_per_pass)} vs {sig(t.cost_per_pass)} $ per pass): "
            "shown for comparison, use the primary"
        )
        cascade = RoutedCascade(first=ref[c.first], then=ref[c.then], cost_per_pass=sig(c.cost_per_pass) or 0.0,
                                ci=money_ci(c.ci) or (None, None), pass_rate=rate(c.pass_rate) or 0.0,
                                pass_ci=rate_ci(c.pass_ci) or (0.0, 1.0), beats_primary=c.beats_primary, note=note)
    evidence = t.evidence
    return RoutedTier(
        primary=ref[t.primary] if t.primary else None,
        fallback=ref[t.fallback] if t.fallback else None,
        cascade=cascade,
        expected_cost_per_pass=sig(t.cost_per_pass),
        ci=money_ci(t.ci),
        pass_rate=rate(t.pass_rate),
        pass_ci=rate_ci(t.pass_ci),
        reason=t.reason,
        evidence=RoutedEvidence(store=store, episodes=evidence.episodes if evidence else 0,
                          episode_ids=evidence.episode_ids if evidence else []),
    )


def routing_file(an: Analysis, decision: Decision, routes_file: Path | None = None) -> RoutingFile:
    """The routing file of a decision. `routes_file`: where the routes are defined, when the plan
    that ran them is not at hand (otherwise it is found from the plan recorded in the store)."""
    by_label = {r.label: r for r in an.data.routes}
    used = list(dict.fromkeys(name for t in decision.tiers.values() for name in t.routed()))
    plans = plan_routes(an)
    configs: dict[str, RoutedConfig] = {}
    for label in used:
        source, written = route_source(by_label[label], routes_file, plans)
        configs[label] = routed_config(an, by_label[label], source, written)
    ref = {label: RouteRef(route=c.route, config=label) for label, c in configs.items()}
    return RoutingFile(
        store=decision.store,
        min_pass_rate=decision.min_pass_rate,
        overheads=decision.overheads,
        tiers={tier: routed_tier(t, ref, decision.store) for tier, t in decision.tiers.items()},
        configs=configs,
    )


def yaml_text(data: BaseModel) -> str:
    return str(yaml.safe_dump(data.model_dump(mode="json", exclude_none=False), sort_keys=False, allow_unicode=True))


def write_routing(an: Analysis, decision: Decision, path: Path, routes_file: Path | None = None) -> Path:
    routing = routing_file(an, decision, routes_file)
    header = ROUTING_HEADER.format(version=ROUTING_VERSION, store=decision.store)
    return files.write_text(path, header + yaml_text(routing))
