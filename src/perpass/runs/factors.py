"""OFAT factor names and where each lands on a Route.

A plan speaks in flat factor names (`temperature`, `n_ctx`, `max_turns`...); a Route nests them
under `sampling`, `serving` and `harness`. This table is the one place that maps the two.
"""

from __future__ import annotations

from typing import Any

from perpass.endpoints.kinds import Route

# factor name -> (section of Route, field name); section None means a top-level Route field.
FACTOR_FIELDS: dict[str, tuple[str | None, str]] = {
    "temperature": ("sampling", "temperature"),
    "top_p": ("sampling", "top_p"),
    "seed": ("sampling", "seed"),
    "n_ctx": ("serving", "n_ctx"),
    "kv_type": ("serving", "kv_type"),
    "threads": ("serving", "threads"),
    "n_parallel": ("serving", "n_parallel"),
    "gguf": (None, "gguf"),
    "tool_protocol": ("harness", "tool_protocol"),
    "max_turns": ("harness", "max_turns"),
    "max_output_tokens": ("harness", "max_output_tokens"),
    "system_prompt": ("harness", "system_prompt"),
    "context_window": ("harness", "context_window"),
    "wall_limit_s": ("harness", "wall_limit_s"),
    "command_timeout_s": ("harness", "command_timeout_s"),
    "max_observation_chars": ("harness", "max_observation_chars"),
    "max_total_tokens": ("harness", "max_total_tokens"),
    "max_cost_usd": ("harness", "max_cost_usd"),
    "agent": ("harness", "agent"),
    "agent_version": ("harness", "agent_version"),
    "agent_args": ("harness", "agent_args"),
}

def factor_value(route: Route, factor: str) -> Any:
    section, field = FACTOR_FIELDS[factor]
    holder = getattr(route, section) if section else route
    return getattr(holder, field)


def apply_factors(route: Route, settings: dict[str, Any]) -> Route:
    """A new Route with `settings` (factor -> value) applied, validated like a routes file would be.

    Raises pydantic.ValidationError for a bad value; KeyError for an unknown factor name.
    """
    data = route.model_dump()
    for factor, value in settings.items():
        section, field = FACTOR_FIELDS[factor]
        (data[section] if section else data)[field] = value
    return type(route).model_validate(data)  # the same kind, checked again


def serving_key(route: Route) -> str:
    """Identity of the server process a local route needs: same key, same server.

    Serving factors (n_ctx, kv_type, threads, n_parallel, gguf) change it; the others reuse the server.
    """
    return route.serving.model_dump_json() + "|" + str(route.gguf)


def format_level(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
