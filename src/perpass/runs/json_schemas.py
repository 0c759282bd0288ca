"""JSON Schemas of the files users write (routes.yaml, plan.yaml), of `perpass status --json` and
`perpass episode --json`, and of an episode's transcript.json.

All are generated from the pydantic models that check those files, so they cannot drift from what
perpass accepts. Editors use them through the `# yaml-language-server: $schema=...` line that
`perpass init` writes (the YAML extension of VS Code and other LSP editors complete and check
the file). Loosely typed parts of the models (a plan's inline `routes:`, `baseline:`, `factors:`,
`cells[].set`) are filled in here from the route models and the factor table.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from perpass.agent.transcript import Transcript
from perpass.agent.types import EpisodeSummary
from perpass.config import RouteBase
from perpass.endpoints.kinds import ROUTE_KINDS
from perpass.runs.factors import FACTOR_FIELDS
from perpass.runs.plan import PlanFile
from perpass.runs.status import RunStatus

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _route_body() -> dict[str, Any]:
    """A route as written under `routes: NAME:`: the shared settings without the name (the key is
    it), `kind` one of the registered kinds, and each kind's own rules (its required fields)."""
    schema = RouteBase.model_json_schema()
    schema["properties"].pop("name")
    schema.pop("description", None)  # RouteBase's docstring is for developers
    schema["properties"]["kind"] = {"enum": list(ROUTE_KINDS), "title": "Kind", "type": "string"}
    schema["required"] = [r for r in schema.get("required", []) if r != "name"]
    schema["allOf"] = [
        {"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]}, "then": cls.schema_rules}
        for kind, cls in ROUTE_KINDS.items() if cls.schema_rules
    ]
    schema["title"] = "route"
    return schema


def _lift_defs(schema: dict[str, Any], into: dict[str, Any]) -> dict[str, Any]:
    """Move a sub-schema's $defs to the document's, so its $refs (#/$defs/...) resolve there."""
    into.setdefault("$defs", {}).update(schema.pop("$defs", {}))
    return schema


def routes_schema() -> dict[str, Any]:
    doc: dict[str, Any] = {"$schema": DIALECT, "title": "perpass routes file"}
    body = _lift_defs(_route_body(), doc)
    doc["$defs"]["route"] = body
    doc.update({
        "type": "object",
        "required": ["routes"],
        "additionalProperties": False,
        "properties": {"routes": {"type": "object", "additionalProperties": {"$ref": "#/$defs/route"}}},
    })
    return doc


def _factor_schemas(defs: dict[str, Any]) -> dict[str, Any]:
    """Each OFAT factor's value schema, taken from the Route field it lands on."""
    route = RouteBase.model_json_schema()
    out = {}
    for factor, (section, field) in FACTOR_FIELDS.items():
        if section is None:
            holder = route
        else:
            ref = route["properties"][section].get("$ref") or route["properties"][section]["allOf"][0]["$ref"]
            holder = route["$defs"][ref.rsplit("/", 1)[-1]]
        out[factor] = copy.deepcopy(holder["properties"][field])
    defs.update(route.get("$defs", {}))
    return out


def plan_schema() -> dict[str, Any]:
    doc: dict[str, Any] = {"$schema": DIALECT}
    plan = _lift_defs(PlanFile.model_json_schema(), doc)
    defs = doc["$defs"]
    defs["route"] = _lift_defs(_route_body(), doc)
    factors = _factor_schemas(defs)
    settings = {"type": "object", "properties": factors, "additionalProperties": False}
    plan["properties"]["routes"] = {"type": "object", "additionalProperties": {"$ref": "#/$defs/route"}}
    model = defs["ModelPlan"]
    model["properties"]["baseline"] = {**settings, "description": "Factor values every cell of the model uses."}
    model["properties"]["factors"] = {
        "type": "object",
        "additionalProperties": False,
        "description": "One cell per non-baseline level, each changing only this factor.",
        "properties": {f: {"type": "array", "minItems": 1, "items": s} for f, s in factors.items()},
    }
    defs["ExplicitCell"]["properties"]["set"] = settings
    plan["title"] = "perpass plan file"
    return {**doc, **plan}


def status_schema() -> dict[str, Any]:
    return {"$schema": DIALECT, **RunStatus.model_json_schema()}


def episode_schema() -> dict[str, Any]:
    return {"$schema": DIALECT, **EpisodeSummary.model_json_schema()}


def transcript_schema() -> dict[str, Any]:
    return {"$schema": DIALECT, **Transcript.model_json_schema()}


SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    "routes": routes_schema,
    "plan": plan_schema,
    "status": status_schema,
    "episode": episode_schema,
    "transcript": transcript_schema,
}


def schema_text(name: str) -> str:
    return json.dumps(SCHEMAS[name](), indent=2, sort_keys=False) + "\n"
