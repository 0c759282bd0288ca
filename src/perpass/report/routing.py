"""The decision as files: perpass's own routing file, and a LiteLLM proxy config.

LiteLLM fallbacks fire on errors only, never on failed work; the cascade on failed work lives
in the routing file, which says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from perpass import files
from perpass.analysis.analyze import Analysis
from perpass.analysis.store_data import RouteInfo

ROUTING_HEADER = """\
# perpass routing file: tier -> primary route, fallback route, cascade, expected cost per pass.
# Written by `perpass decide` from {store}. Cost per pass includes failure overheads (see overheads).
# The cascade means: send to `first`; when its work fails verification, send the task to `then`.
"""
LITELLM_HEADER = """\
# LiteLLM proxy config written by `perpass decide --litellm`: one model group per tier.
# Fallbacks here fire on endpoint errors only, not on failed work; the cascade on failed work is in
# perpass's routing file. Local routes: start their server and check api_base.
"""
LOCAL_API_BASE = "http://127.0.0.1:8080/v1"


def routing_file(an: Analysis, decision: dict[str, Any]) -> dict[str, Any]:
    tiers: dict[str, Any] = {}
    used: set[str] = set()
    for tier, t in decision["tiers"].items():
        entry = {
            "primary": t["primary"],
            "fallback": t["fallback"],
            "cascade": (
                {k: t["cascade"][k] for k in ("first", "then", "cost_per_pass", "ci", "pass_rate", "pass_ci")}
                if t.get("cascade")
                else None
            ),
            "expected_cost_per_pass": t["cost_per_pass"],
            "ci": t["ci"],
            "pass_rate": t["pass_rate"],
            "pass_ci": t["pass_ci"],
            "reason": t["reason"],
            "evidence": {"store": decision["store"], **(t.get("evidence") or {"episodes": 0})},
        }
        tiers[tier] = entry
        for key in ("primary", "fallback"):
            if t[key]:
                used.add(t[key])
        if t.get("cascade"):
            used.update({t["cascade"]["first"], t["cascade"]["then"]})
    routes = {r.label: route_facts(r) for r in an.data.routes if r.label in used}
    return {
        "version": 1,
        "min_pass_rate": decision["min_pass_rate"],
        "overheads": decision["overheads"],
        "tiers": tiers,
        "routes": routes,
    }


def route_facts(r: RouteInfo) -> dict[str, Any]:
    return {
        "route_name": r.route_name,
        "model": r.model,
        "kind": r.kind,
        "config_hash": r.config_hash,
        "base_url": r.config.get("base_url"),
        "api_key_env": r.config.get("api_key_env"),
    }


def litellm_entry(group: str, r: RouteInfo, an: Analysis) -> dict[str, Any]:
    params: dict[str, Any] = {
        "model": f"openai/{r.model}",
        "api_base": r.config.get("base_url") or LOCAL_API_BASE,
    }
    key_env = r.config.get("api_key_env")
    params["api_key"] = f"os.environ/{key_env}" if key_env else "none"
    pricing = an.pricings[an.route_index(r.label)]
    prices = pricing.prices
    params["input_cost_per_token"] = prices.input / 1e6 if prices else 0.0
    params["output_cost_per_token"] = prices.output / 1e6 if prices else 0.0
    return {"model_name": group, "litellm_params": params, "model_info": {"perpass_route": r.label}}


def litellm_config(an: Analysis, decision: dict[str, Any]) -> dict[str, Any]:
    by_label = {r.label: r for r in an.data.routes}
    model_list = []
    fallbacks = []
    for tier, t in decision["tiers"].items():
        if not t["primary"]:
            continue
        group = f"tier-{tier.lower()}"
        model_list.append(litellm_entry(group, by_label[t["primary"]], an))
        if t["fallback"]:
            model_list.append(litellm_entry(f"{group}-fallback", by_label[t["fallback"]], an))
            fallbacks.append({group: [f"{group}-fallback"]})
    return {
        "model_list": model_list,
        "router_settings": {"routing_strategy": "simple-shuffle", "num_retries": 2, "fallbacks": fallbacks},
    }


def write_yaml(path: Path, data: dict[str, Any], header: str) -> Path:
    return files.write_text(path, header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def write_routing(an: Analysis, decision: dict[str, Any], path: Path) -> Path:
    return write_yaml(path, routing_file(an, decision), ROUTING_HEADER.format(store=decision["store"]))


def write_litellm(an: Analysis, decision: dict[str, Any], path: Path) -> Path:
    return write_yaml(path, litellm_config(an, decision), LITELLM_HEADER)
