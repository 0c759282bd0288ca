"""Route kinds as a registry: each kind parses as its own class, opens itself, and carries the flags
the runner, the analysis and the router export read instead of comparing kind names."""

from __future__ import annotations

from pathlib import Path

import pytest

from perpass.config import RouteBase
from perpass.endpoints.kinds import ROUTE_KINDS, LocalRoute, OracleRoute, ScriptedRoute, kind_of, make_route
from perpass.endpoints.routes import builtin_routes, load_routes, open_route
from perpass.errors import UserError


def test_each_kind_parses_as_its_own_class() -> None:
    assert isinstance(make_route(name="s", kind="scripted", script=["x"]), ScriptedRoute)
    assert isinstance(make_route(name="l", kind="local", gguf="embedded"), LocalRoute)
    assert isinstance(builtin_routes()["oracle"], OracleRoute)
    assert set(ROUTE_KINDS) >= {"local", "openai", "scripted", "oracle"}
    assert all(callable(getattr(cls, "open", None)) for cls in ROUTE_KINDS.values())


def test_config_hash_is_unchanged_by_kind_classes() -> None:
    # Pinned from the single Route class these kinds replaced: a stored run must still resume.
    assert builtin_routes()["local-smollm2"].config_hash() == "d97cbb961845b13f"
    assert builtin_routes()["oracle"].config_hash() == "8de84b5c23982a79"
    assert make_route(name="x", kind="scripted", script=["a"]).config_hash() == "20515d73ac987d00"


def test_flags_replace_kind_branches() -> None:
    assert kind_of("local").starts_server and not kind_of("openai").starts_server
    assert kind_of("oracle").reference and not kind_of("oracle").deployable
    assert not kind_of("scripted").deployable and kind_of("openai").deployable
    assert [kind_of(k).default_pricing for k in ("local", "openai", "scripted", "oracle")] == \
        ["local", "cloud", "free", "free"]
    assert kind_of("a-kind-from-a-newer-perpass") is RouteBase  # needs prices, never routed


def test_unknown_kind_names_the_file_and_the_known_kinds(tmp_path: Path) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text("routes:\n  r:\n    kind: bogus\n")
    with pytest.raises(UserError) as err:
        load_routes(routes)
    assert str(routes) in str(err.value) and "'scripted'" in str(err.value) and "'oracle'" in str(err.value)


def test_kind_rules_are_checked(tmp_path: Path) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text("routes:\n  r:\n    kind: openai\n")
    with pytest.raises(UserError, match="needs base_url"):
        load_routes(routes)


def test_scripted_kind_opens_a_real_server(tmp_path: Path) -> None:
    route = make_route(name="s", kind="scripted", script=["hello"])
    with open_route(route, tmp_path) as live:
        assert live.endpoint is not None and live.scripted is not None
        assert live.endpoint.chat([{"role": "user", "content": "hi"}], max_tokens=8).content == "hello"
    with open_route(builtin_routes()["oracle"], tmp_path) as live:
        assert live.endpoint is None
