"""Bring a route up: start its local or scripted server if it has one, and give back an Endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from perpass.config import Route
from perpass.endpoints.client import Endpoint
from perpass.endpoints.local import LocalServer
from perpass.testing.scripted_server import ScriptedServer


@dataclass
class LiveRoute:
    """A route that is up. `endpoint` is None for the oracle route, which needs no model."""

    route: Route
    endpoint: Endpoint | None
    server: LocalServer | None = None
    scripted: ScriptedServer | None = None


@contextmanager
def open_route(route: Route, log_dir: Path) -> Iterator[LiveRoute]:
    """Start what the route needs, yield it, and stop it again whatever happens."""
    if route.kind == "oracle":
        yield LiveRoute(route, None)
        return
    with ExitStack() as stack:
        live = LiveRoute(route, None)
        base_url, api_key_env = route.base_url, route.api_key_env
        if route.kind == "scripted":
            live.scripted = stack.enter_context(ScriptedServer(route.script or [], model=route.model))
            base_url = live.scripted.base_url
        elif route.kind == "local":
            live.server = stack.enter_context(LocalServer(route, log_dir / f"server-{route.name}.log"))
            base_url = live.server.base_url
        assert base_url is not None
        live.endpoint = Endpoint(base_url, route.model, api_key_env=api_key_env, timeout_s=route.timeout_s,
                                 max_retries=route.max_retries)
        stack.callback(live.endpoint.close)
        yield live
