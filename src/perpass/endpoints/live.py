"""A route that is up: what its kind's `open()` yields to the agent loop and the runner."""

from __future__ import annotations

from dataclasses import dataclass

from perpass.config import RouteBase
from perpass.endpoints.client import Endpoint
from perpass.endpoints.local import LocalServer
from perpass.endpoints.scripted_server import ScriptedServer


@dataclass
class LiveRoute:
    """A route that is up. `endpoint` is None for a kind that needs no model (the oracle)."""

    route: RouteBase
    endpoint: Endpoint | None
    server: LocalServer | None = None  # a local server perpass started (its timings, log and memory)
    scripted: ScriptedServer | None = None  # the scripted server (tests reach into it)


def connect(route: RouteBase, base_url: str) -> Endpoint:
    """The OpenAI-compatible client for `route` at `base_url`, with the route's key, timeout and retries."""
    return Endpoint(base_url, route.model, api_key_env=route.api_key_env, timeout_s=route.timeout_s,
                    max_retries=route.max_retries)
