"""Bring a route up: start its local or scripted server if it has one, and give back an Endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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
    if route.kind == "scripted":
        with ScriptedServer(route.script or [], model=route.model) as scripted:
            endpoint = Endpoint(scripted.base_url, route.model, timeout_s=route.timeout_s,
                                max_retries=route.max_retries)
            try:
                yield LiveRoute(route, endpoint, scripted=scripted)
            finally:
                endpoint.close()
        return
    if route.kind == "local":
        server = LocalServer(route, log_dir / f"server-{route.name}.log")
        with server:
            endpoint = Endpoint(server.base_url, route.model, timeout_s=route.timeout_s,
                                max_retries=route.max_retries)
            try:
                yield LiveRoute(route, endpoint, server=server)
            finally:
                endpoint.close()
        return
    assert route.base_url is not None
    endpoint = Endpoint(route.base_url, route.model, api_key_env=route.api_key_env,
                        timeout_s=route.timeout_s, max_retries=route.max_retries)
    try:
        yield LiveRoute(route, endpoint)
    finally:
        endpoint.close()
