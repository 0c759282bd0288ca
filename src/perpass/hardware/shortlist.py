"""Step 2: the catalog's models that fit the scoped machine, smallest-active-params first.

For each model the best quant that fits at the asked context is picked (most bits per weight
first, "fits" preferred over "tight"); models below the tier's capability floor are left out
(see catalog/tiers.yaml). Ranking: active params ascending (the speed proxy), then total params
descending (more capability at the same speed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from perpass import files
from perpass.config import LocalCosts
from perpass.hardware.catalog import Catalog
from perpass.hardware.detect import Hardware
from perpass.hardware.fit import FitResult, fit, spec_from_catalog

DEFAULT_CONTEXT = 32768  # agent loops re-send long histories; 32K is a common working window
GGUF_PLACEHOLDER = "REPLACE-ME/{model}-{quant}.gguf"


@dataclass
class Candidate:
    name: str
    active_params_b: float
    total_params_b: float
    result: FitResult

    def to_dict(self) -> dict[str, Any]:
        fit = self.result.to_dict()
        return {
            "name": self.name,
            "active_params_b": self.active_params_b,
            "total_params_b": self.total_params_b,
            **{key: fit[key] for key in ("quant", "status", "max_context", "decode_tok_s_est")},
        }


@dataclass
class Shortlist:
    hardware: Hardware
    tier: str | None
    context: int
    models: list[Candidate]
    excluded: list[dict[str, str]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.hardware.profile,
            "tier": self.tier,
            "context": self.context,
            "models": [c.to_dict() for c in self.models],
            "excluded": self.excluded,
        }


def _best_fit(catalog: Catalog, name: str, hw: Hardware, context: int, kv_type: str) -> FitResult | None:
    model = catalog.model(name)
    results = []
    for quant in model.quants:
        spec = spec_from_catalog(catalog, name, quant)
        results.append(
            fit(spec, hw.profile or "this machine", hw.usable_bytes, hw.bandwidth_gbs, context, kv_type)
        )
    fitting = [r for r in results if r.fits]
    if not fitting:
        return None
    # Prefer comfortable fits, then precision (more bits per weight = bigger file).
    return max(fitting, key=lambda r: (r.status == "fits", r.memory.weights_bytes))


def shortlist(
    catalog: Catalog,
    hw: Hardware,
    tier: str | None = None,
    context: int = DEFAULT_CONTEXT,
    kv_type: str = "f16",
) -> Shortlist:
    floor = catalog.tier(tier).min_total_params_b if tier else 0.0
    chosen: list[Candidate] = []
    excluded: list[dict[str, str]] = []
    for name, model in catalog.models.items():
        if model.total_params_b < floor:
            excluded.append({"name": name, "reason": f"below tier {tier} floor of {floor:g} B params"})
            continue
        if context > model.native_context:
            excluded.append({"name": name, "reason": f"native context {model.native_context} < {context}"})
            continue
        best = _best_fit(catalog, name, hw, context, kv_type)
        if best is None:
            excluded.append(
                {"name": name, "reason": f"does not fit in {hw.usable_gb:.1f} GiB at {context} tokens"}
            )
            continue
        chosen.append(Candidate(name, model.active_params_b, model.total_params_b, best))
    chosen.sort(key=lambda c: (c.active_params_b, -c.total_params_b))
    return Shortlist(hw, tier, context, chosen, excluded)


def plan_routes(result: Shortlist, local_costs: LocalCosts | None = None) -> dict[str, Any]:
    """A routes.yaml `routes:` section, one local route per shortlisted model (see perpass.config.Route)."""
    routes: dict[str, Any] = {}
    for c in result.models:
        r = c.result
        body: dict[str, Any] = {
            "kind": "local",
            "model": c.name,
            "gguf": GGUF_PLACEHOLDER.format(model=c.name, quant=r.quant),
            "serving": {
                "server": "llama-server",
                "n_ctx": result.context,
                "kv_type": r.kv_type,
                "n_parallel": 1,
            },
        }
        if local_costs is not None:
            body["local_costs"] = local_costs.model_dump()
        routes[f"local-{c.name}-{r.quant.lower()}"] = body
    return {"routes": routes}


def write_plan(result: Shortlist, path: Path, local_costs: LocalCosts | None = None) -> None:
    header = (
        "# Starter routes from `perpass shortlist`: one local route per shortlisted model.\n"
        "# Replace each gguf: placeholder with the path of the downloaded file (the quant is in the name).\n"
    )
    text = header + yaml.safe_dump(plan_routes(result, local_costs), sort_keys=False)
    files.write_text(path, text)
