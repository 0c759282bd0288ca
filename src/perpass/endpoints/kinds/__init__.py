"""Route kinds: a name → class registry, one module per kind.

Each kind is a `RouteBase` subclass with `kind: Literal["NAME"]`, its own checks, capability flags
(`starts_server`, `reference`, `deployable`), pricing default, JSON Schema rules and `open(log_dir)`,
a context manager that brings the route up and yields a `LiveRoute`. To add a kind, write
`kinds/NAME.py` and add its class to `Route` below; nothing else branches on kind names.
"""

from __future__ import annotations

from typing import Annotated, Any, cast, get_args

from pydantic import Field, TypeAdapter

from perpass.config import RouteBase
from perpass.endpoints.kinds.local import LocalRoute
from perpass.endpoints.kinds.openai import OpenAIRoute
from perpass.endpoints.kinds.oracle import OracleRoute
from perpass.endpoints.kinds.scripted import ScriptedRoute

Route = Annotated[LocalRoute | OpenAIRoute | ScriptedRoute | OracleRoute, Field(discriminator="kind")]


def _kind_name(cls: type[RouteBase]) -> str:
    return str(get_args(cls.model_fields["kind"].annotation)[0])


ROUTE_KINDS: dict[str, type[RouteBase]] = {_kind_name(c): c for c in get_args(get_args(Route)[0])}
_ROUTE = TypeAdapter(Route)


def parse_route(data: dict[str, Any]) -> Route:
    """A route of the kind `data` names. Raises pydantic's ValidationError (an unknown kind lists the known)."""
    cls = ROUTE_KINDS.get(str(data.get("kind")))
    if cls is None:
        return _ROUTE.validate_python(data)  # fails, naming the kinds it knows
    return cast(Route, cls.model_validate(data))


def make_route(**fields: Any) -> Route:
    return parse_route(fields)


def kind_of(name: str) -> type[RouteBase]:
    """The class of a kind stored in a run (a kind this perpass no longer knows reads as a plain route)."""
    return ROUTE_KINDS.get(name, RouteBase)


__all__ = ["ROUTE_KINDS", "LocalRoute", "OpenAIRoute", "OracleRoute", "Route", "ScriptedRoute", "kind_of",
           "make_route", "parse_route"]
