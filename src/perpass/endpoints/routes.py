"""The routes a user can name: built-in ones plus a routes.yaml, each parsed as its kind; and
`open_route`, which brings one up through its kind's `open()`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import ValidationError

from perpass.config import Harness, LocalCosts, Serving, Strict, load_yaml, validation_error
from perpass.endpoints.kinds import LocalRoute, OracleRoute, Route, parse_route
from perpass.endpoints.live import LiveRoute
from perpass.errors import UserError

__all__ = ["LiveRoute", "builtin_routes", "get_route", "load_routes", "open_route"]


def builtin_routes() -> dict[str, Route]:
    """Routes that exist without any file."""
    return {
        "local-smollm2": LocalRoute(
            name="local-smollm2",
            model="SmolLM2-135M-Instruct",
            gguf="embedded",
            serving=Serving(n_ctx=4096, threads=2),
            harness=Harness(max_turns=6, max_output_tokens=192, wall_limit_s=180),
            local_costs=LocalCosts(hardware_price=1500.0, watts=65.0),
        ),
        "oracle": OracleRoute(name="oracle", model="oracle"),
    }


class RoutesFile(Strict):
    routes: dict[str, dict[str, object]]


def route_from_file(path: Path, name: str, body: object, prefix: tuple[str, ...] = ("routes",)) -> Route:
    """One route as written under `routes: NAME:` in `path`, its script_file read beside it."""
    if not isinstance(body, dict):
        raise UserError(f"{path}: {'.'.join(prefix)}.{name}: expected a mapping of settings")
    try:
        route = parse_route({**body, "name": name})
    except ValidationError as err:
        raise validation_error(path, err, (*prefix, name)) from None
    if route.script_file:
        script_path = (path.parent / route.script_file).resolve()
        script = load_yaml(script_path)
        if not isinstance(script, list):
            raise UserError(f"{script_path}: expected a YAML list of replies")
        route = route.model_copy(update={"script": script})
    return route


def load_routes(path: Path | None) -> dict[str, Route]:
    """Built-in routes, plus those in `path` (a routes.yaml) when given."""
    routes = builtin_routes()
    if path is None:
        return routes
    data = load_yaml(path)
    if not isinstance(data, dict) or "routes" not in data:
        raise UserError(f"{path}: expected a mapping with a top-level 'routes:' key")
    if not isinstance(data["routes"], dict):
        raise UserError(f"{path}: 'routes' must map route names to their settings")
    for name, body in data["routes"].items():
        routes[str(name)] = route_from_file(path, str(name), body)
    return routes


def get_route(name: str, routes_file: Path | None) -> Route:
    routes = load_routes(routes_file)
    if name not in routes:
        known = ", ".join(sorted(routes))
        where = f" in {routes_file}" if routes_file else ""
        raise UserError(f"unknown route '{name}'{where}; known routes: {known}")
    return routes[name]


@contextmanager
def open_route(route: Route, log_dir: Path) -> Iterator[LiveRoute]:
    """Start what the route needs, yield it, and stop it again whatever happens."""
    with route.open(log_dir) as live:
        yield live
