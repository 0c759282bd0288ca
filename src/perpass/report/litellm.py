"""The decision as a LiteLLM proxy config that the proxy loads as written.

One model group per tier (`tier-t1`) on the primary route, `tier-t1-fallback` on the runner-up
(LiteLLM fallbacks fire on endpoint errors), and `tier-t1-cascade-1/-2` when the decision's cascade
on failed work beats the primary (LiteLLM cannot see failed work: the caller escalates). Every
deployment carries the prices perpass used, in LiteLLM's field names, so the proxy's spend tracking
agrees with perpass, and the sampling and output limit the route was ranked with. Secrets are never
written: the master key and API keys are `os.environ/NAME` references. Tested against the real proxy
(tests/test_deploy_litellm.py).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from perpass import files
from perpass.analysis.analyze import Analysis
from perpass.analysis.prices import PriceModel
from perpass.analysis.results import Decision
from perpass.analysis.store_data import RouteInfo
from perpass.config import CloudPrices, resolve_gguf
from perpass.endpoints.kinds import Route, kind_of, parse_route
from perpass.endpoints.local import server_command
from perpass.errors import UserError

MASTER_KEY_ENV = "LITELLM_MASTER_KEY"
PROXY_PORT = 4000
FIRST_LOCAL_PORT = 8081  # local routes without serving.port get 8081, 8082, ... in this config
# CloudPrices field ($ per 1M tokens) -> LiteLLM's field ($ per token). A test checks every field is here.
LITELLM_PRICE_FIELDS = {
    "input": "input_cost_per_token",
    "cached_input": "cache_read_input_token_cost",
    "cache_write": "cache_creation_input_token_cost",
    "cache_write_1h": "cache_creation_input_token_cost_above_1hr",
    "output": "output_cost_per_token",
    "reasoning": "output_cost_per_reasoning_token",
    "tiers": "input_cost_per_token_above_200k_tokens",  # LiteLLM knows one tier: 200k (input and output)
}
LITELLM_TIER_START = 200_000
# Routes with no endpoint a proxy could reach: they replay inside perpass.


class LiteLLMModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LiteLLMParams(LiteLLMModel):
    model: str = Field(description="provider/model: openai/ (OpenAI-compatible) or anthropic/ (Messages)")
    api_base: str
    api_key: str = Field(description="os.environ/NAME, or 'none' for an endpoint that takes no key")
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    max_tokens: int | None = None
    timeout: float | None = None
    input_cost_per_token: float | None = None
    cache_read_input_token_cost: float | None = None
    cache_creation_input_token_cost: float | None = None
    cache_creation_input_token_cost_above_1hr: float | None = None
    input_cost_per_token_above_200k_tokens: float | None = None
    output_cost_per_token_above_200k_tokens: float | None = None
    output_cost_per_token: float | None = None
    output_cost_per_reasoning_token: float | None = None
    input_cost_per_second: float | None = Field(None, description="local routes: owned hardware per second")


class DeploymentInfo(LiteLLMModel):
    perpass_route: str = Field(description="the route's name in its routes file")
    perpass_config: str = Field(description="the ranked config (cell label) in the routing file")
    perpass_tier: str
    perpass_role: str
    perpass_start: str | None = Field(None, description="local routes: the command that starts the server")


class Deployment(LiteLLMModel):
    model_name: str
    litellm_params: LiteLLMParams
    model_info: DeploymentInfo


class RouterSettings(LiteLLMModel):
    routing_strategy: str = "simple-shuffle"
    num_retries: int = 2
    fallbacks: list[dict[str, list[str]]] = []


class GeneralSettings(LiteLLMModel):
    master_key: str = f"os.environ/{MASTER_KEY_ENV}"


class LiteLLMConfig(LiteLLMModel):
    model_list: list[Deployment]
    router_settings: RouterSettings
    general_settings: GeneralSettings = GeneralSettings()


def price_params(pricing: PriceModel) -> dict[str, float]:
    """perpass's prices in LiteLLM's fields. Cloud: per token; local: per second of the call."""
    if pricing.kind == "local" and pricing.local is not None:
        return {"input_cost_per_second": pricing.local.hourly / 3600.0}
    if pricing.kind == "unknown":
        return {}  # perpass has no price: LiteLLM's own, if it has one, rather than a made-up 0
    prices = pricing.prices or CloudPrices()  # free routes: an explicit 0, never LiteLLM's own price list
    out = {LITELLM_PRICE_FIELDS[k]: v / 1e6 for k, v in prices.model_dump(exclude={"tiers"}).items()
           if v is not None}
    for tier in prices.tiers:  # only the tier LiteLLM has fields for; others stay perpass's own
        if tier.above_prompt_tokens == LITELLM_TIER_START:
            out.update({name: v / 1e6 for name, v in (("input_cost_per_token_above_200k_tokens", tier.input),
                                                      ("output_cost_per_token_above_200k_tokens", tier.output))
                        if v is not None})
    # Unset, perpass bills cached tokens at the input price, as LiteLLM does; written out anyway.
    out.setdefault("cache_read_input_token_cost", prices.input / 1e6)
    return out


class Builder:
    """Deployments for the routes a decision names, each local route on its own port."""

    def __init__(self, an: Analysis) -> None:
        self.an = an
        self.by_label = {r.label: r for r in an.data.routes}
        self.local_ports: dict[str, int] = {}
        self.key_envs: list[str] = []
        self.local_commands: list[tuple[str, str]] = []
        self.skipped: list[str] = []

    def local_base(self, r: RouteInfo, route: Route) -> tuple[str, str]:
        """api_base and the command that starts this local route's server with its ranked serving config."""
        if r.label not in self.local_ports:
            port = route.serving.port or FIRST_LOCAL_PORT + len(self.local_ports)
            self.local_ports[r.label] = port
        port = self.local_ports[r.label]
        try:
            gguf = resolve_gguf(route.gguf or "")
        except UserError:
            gguf = Path(route.gguf or "")  # written as the run knew it; the header says to check it
        return f"http://127.0.0.1:{port}/v1", shlex.join(server_command(route, gguf, port))

    def deployment(self, group: str, label: str, tier: str, role: str) -> Deployment | None:
        r = self.by_label[label]
        if not kind_of(r.kind).deployable:
            self.skipped.append(f"{group}: {label} is a {r.kind} route (it replays inside perpass; no endpoint)")
            return None
        try:
            route = parse_route({**r.config, "name": r.route_name})
        except ValidationError as err:
            self.skipped.append(f"{group}: the stored config of {label} is not a complete route "
                                f"({err.errors()[0]['msg']})")
            return None
        start = None
        if route.starts_server:
            api_base, start = self.local_base(r, route)
            if (label, start) not in self.local_commands:
                self.local_commands.append((label, start))
        else:
            api_base = route.api_base()
        api_key = "none"
        if route.api_key_env:
            api_key = f"os.environ/{route.api_key_env}"
            if route.api_key_env not in self.key_envs:
                self.key_envs.append(route.api_key_env)
        params = LiteLLMParams(
            model=f"{route.litellm_provider}/{route.model}",
            api_base=api_base,
            api_key=api_key,
            temperature=route.sampling.temperature,
            top_p=route.sampling.top_p,
            seed=route.sampling.seed,
            max_tokens=route.harness.max_output_tokens,
            timeout=route.timeout_s,
            **price_params(self.an.pricings[self.an.route_index(label)]),
        )
        info = DeploymentInfo(perpass_route=r.route_name, perpass_config=label, perpass_tier=tier,
                              perpass_role=role, perpass_start=start)
        return Deployment(model_name=group, litellm_params=params, model_info=info)


def litellm_config(an: Analysis, decision: Decision) -> tuple[LiteLLMConfig, Builder]:
    builder = Builder(an)
    model_list: list[Deployment] = []
    fallbacks: list[dict[str, list[str]]] = []

    def add(group: str, label: str, tier: str, role: str) -> bool:
        deployment = builder.deployment(group, label, tier, role)
        if deployment is not None:
            model_list.append(deployment)
        return deployment is not None

    for tier, t in decision.tiers.items():
        group = f"tier-{tier.lower()}"
        has_primary = bool(t.primary) and add(group, t.primary or "", tier, "primary")
        if t.fallback and add(f"{group}-fallback", t.fallback, tier, "fallback") and has_primary:
            fallbacks.append({group: [f"{group}-fallback"]})
        c = t.cascade
        if c and c.beats_primary:
            first = add(f"{group}-cascade-1", c.first, tier, "cascade first")
            then = add(f"{group}-cascade-2", c.then, tier, "cascade then")
            if first and then:
                fallbacks.append({f"{group}-cascade-1": [f"{group}-cascade-2"]})
    return LiteLLMConfig(model_list=model_list, router_settings=RouterSettings(fallbacks=fallbacks)), builder


def header(decision: Decision, builder: Builder, path: Path) -> str:
    env = " ".join(f"{name}=…" for name in [MASTER_KEY_ENV, *builder.key_envs])
    lines = [
        f"# LiteLLM proxy config written by `perpass decide --litellm` from {decision.store}",
        "# Start the proxy (pip install 'litellm[proxy]'); the master key is any secret you choose,",
        f'# e.g. {MASTER_KEY_ENV}="sk-$(openssl rand -hex 32)"; clients send it as their API key:',
        f"#   {env} litellm --config {shlex.quote(str(path))} --host 127.0.0.1 --port {PROXY_PORT}",
        "# Model groups: tier-tN (primary), tier-tN-fallback (used on endpoint errors only), and",
        "# tier-tN-cascade-1/-2 where a cascade beats the primary: LiteLLM cannot see failed work, so the",
        "# caller sends a task that fails verification on cascade-1 to cascade-2 (see perpass's routing file).",
        "# Prices are perpass's, in LiteLLM's fields; local routes are billed per second of the call.",
    ]
    if builder.local_commands:
        lines.append("# Local routes: start each server first, with the serving config it was ranked with:")
        lines += [f"#   {label}: {command}" for label, command in builder.local_commands]
    lines += [f"# Not deployable here: {note}" for note in builder.skipped]
    return "\n".join(lines) + "\n"


def litellm_yaml(an: Analysis, decision: Decision, path: Path) -> str:
    config, builder = litellm_config(an, decision)
    body: dict[str, Any] = config.model_dump(mode="json", exclude_none=True)
    return header(decision, builder, path) + str(yaml.safe_dump(body, sort_keys=False, allow_unicode=True))


def write_litellm(an: Analysis, decision: Decision, path: Path) -> Path:
    return files.write_text(path, litellm_yaml(an, decision, path))

