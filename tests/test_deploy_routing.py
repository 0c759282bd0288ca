"""Decisions that deploy: the routing file names routes as the routes file does, carries their ranked config,
and every route it names passes `perpass smoke`; the oracle is never routed to; no primary without a pass;
`decide --json` matches its published JSON Schema."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import run_perpass
from deploy_helpers import floats, scripted_store, unrounded

from perpass.analysis.analyze import analyze
from perpass.analysis.decide import decision
from perpass.analysis.prices import Overheads, PriceBook
from perpass.analysis.schema import schema_text
from perpass.analysis.synthetic import StoreBuilder
from perpass.report.litellm import litellm_config
from perpass.report.routing import routing_file

SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "schemas" / "decide.schema.json"
FREE = Overheads(reviewer_minutes=0, false_done_drag=0)


@pytest.fixture(scope="module")
def decided(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict, dict]:
    """A real store (real scheduler, scripted routes from a routes file, the oracle), decided by the CLI."""
    folder = tmp_path_factory.mktemp("deploy")
    store = scripted_store(folder)
    out = run_perpass("decide", "--store", str(store), "--json", "--boot", "300", "--min-pass-rate", "0.4",
                      "--litellm", str(folder / "litellm.yaml"), cwd=folder)
    assert out.returncode == 0, out.stderr
    routing = yaml.safe_load((store / "routing.yaml").read_text())
    litellm = yaml.safe_load((folder / "litellm.yaml").read_text())
    return folder, json.loads(out.stdout), routing, litellm


def test_published_schema_is_the_generated_one() -> None:
    assert SCHEMA.read_text() == schema_text(), "regenerate: python -m perpass.analysis.schema > " + str(SCHEMA)


def test_cli_decide_json_validates_against_the_schema(decided: tuple[Path, dict, dict, dict]) -> None:
    _, result, _, _ = decided
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(result)
    assert result["schema_version"] == 2
    broken = {**result, "tiers": {"T1": {**result["tiers"]["T1"], "primary": 3}}}
    with pytest.raises(jsonschema.ValidationError):  # the schema is strict enough to catch a wrong type
        jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(broken)


def test_routing_file_names_routes_as_the_routes_file_and_carries_their_config(
    decided: tuple[Path, dict, dict, dict],
) -> None:
    folder, result, routing, _ = decided
    t1 = routing["tiers"]["T1"]
    # solver-a is the cheaper solver: primary, ranked with the plan's temperature 0.3 (the routes file says 0.1)
    assert t1["primary"] == {"route": "solver-a", "config": "sa/baseline"}
    assert t1["fallback"] == {"route": "solver-b", "config": "sb/baseline"}
    config = routing["configs"]["sa/baseline"]
    assert config["routes_file"] == str((folder / "routes.yaml").resolve())
    assert config["settings"]["sampling"]["temperature"] == 0.3
    assert config["settings"]["harness"]["max_turns"] == 8
    assert config["changed_from_routes_file"] == {"sampling.temperature": 0.3}
    assert config["pricing"]["cached_input"] == 0.05
    assert result["layers"]["sa/baseline"]["route_name"] == "solver-a"
    assert unrounded(floats(routing)) == []


def test_every_route_in_the_routing_file_passes_smoke(decided: tuple[Path, dict, dict, dict]) -> None:
    folder, _, routing, _ = decided
    named = {ref["route"] for t in routing["tiers"].values() for ref in (t["primary"], t["fallback"]) if ref}
    assert named == {"solver-a", "solver-b"}
    for label, config in routing["configs"].items():
        args = shlex.split(config["smoke"])
        assert args[:3] == ["perpass", "smoke", config["route"]]
        out = run_perpass(*args[1:], "--json", "--log-dir", str(folder / "smoke-logs"), cwd=folder / "runs")
        assert out.returncode == 0, (label, out.stdout, out.stderr)
        assert json.loads(out.stdout)["ok"] is True


def test_the_oracle_is_shown_but_never_routed(decided: tuple[Path, dict, dict, dict]) -> None:
    folder, result, routing, litellm = decided
    assert result["layers"]["orc/baseline"]["reference"] is True
    for tier in result["tiers"].values():
        assert "orc/baseline" not in (tier["primary"], tier["fallback"])
        assert not tier["cascade"] or "orc/baseline" not in (tier["cascade"]["first"], tier["cascade"]["then"])
        oracle = next(c for c in tier["candidates"] if c["route"] == "orc/baseline")
        assert oracle["reference"] is True and oracle["eligible"] is False and oracle["pass_rate"] == 1.0
    assert "orc" not in json.dumps(routing) and "oracle" not in json.dumps(litellm["model_list"])


def test_oracle_alone_cheapest_is_still_never_primary(tmp_path: Path) -> None:
    """Before: the free oracle was primary, fallback and cascade of every tier."""
    with StoreBuilder(tmp_path / "perpass.db") as b:
        oracle = b.route("orc/baseline", kind="oracle")
        model = b.route("m/baseline", prices={"input": 1, "output": 1})
        for t in range(6):
            for r in range(3):
                b.episode(oracle, f"t{t}", repeat=r, passed=True)
                b.episode(model, f"t{t}", repeat=r, passed=True, calls=[(1000, 0, 100, 0, 1.0)])
    an = analyze(tmp_path, PriceBook(overheads=FREE), n_boot=200)
    tier = decision(an).tiers["T1"]
    assert tier.primary == "m/baseline" and tier.fallback is None and tier.cascade is None
    assert "reference" in tier.reason
    only_oracle = tmp_path / "only"
    with StoreBuilder(only_oracle / "perpass.db") as b:
        oracle = b.route("orc/baseline", kind="oracle")
        for t in range(4):
            b.episode(oracle, f"t{t}", passed=True)
    tier = decision(analyze(only_oracle, PriceBook(overheads=FREE), n_boot=200)).tiers["T1"]
    assert tier.primary is None and "only reference routes" in tier.reason


def test_no_primary_for_a_tier_where_nothing_passed(tmp_path: Path) -> None:
    """Before: with every route at ∞ and a minimum of 0, a primary was named alphabetically."""
    with StoreBuilder(tmp_path / "perpass.db") as b:
        for name in ("aa", "bb"):
            cell = b.route(f"{name}/baseline", prices={"input": 1, "output": 1})
            for t in range(4):
                b.episode(cell, f"t{t}", ceiling="turn", calls=[(100, 0, 10, 0, 1.0)])
    an = analyze(tmp_path, PriceBook(overheads=FREE, min_pass_rate=0.0), n_boot=200)
    result = decision(an)
    tier = result.tiers["T1"]
    assert tier.primary is None and tier.fallback is None and tier.cascade is None
    assert "no route passed any of its 8 episodes" in tier.reason and tier.blocked_by == "turn"
    routing = routing_file(an, result)
    assert routing.tiers["T1"].primary is None and routing.configs == {}
    assert litellm_config(an, result)[0].model_list == []


def test_a_cascade_that_does_not_beat_the_primary_is_marked(tmp_path: Path) -> None:
    with StoreBuilder(tmp_path / "perpass.db") as b:
        api = {"base_url": "http://127.0.0.1:9/v1"}
        cheap = b.route("cheap/baseline", prices={"input": 1, "output": 0}, config=api)
        dear = b.route("dear/baseline", prices={"input": 5, "output": 0}, config=api)
        for t in range(8):
            for r in range(3):
                b.episode(cheap, f"t{t}", repeat=r, passed=True, calls=[(1000, 0, 0, 0, 1.0)])
                b.episode(dear, f"t{t}", repeat=r, passed=True, calls=[(1000, 0, 0, 0, 1.0)])
    an = analyze(tmp_path, PriceBook(overheads=FREE), n_boot=200)
    result = decision(an)
    cascade = routing_file(an, result).tiers["T1"].cascade
    assert cascade is not None and cascade.beats_primary is False
    assert "does not beat the primary" in (cascade.note or "")
    groups = {d.model_name for d in litellm_config(an, result)[0].model_list}
    assert groups == {"tier-t1", "tier-t1-fallback"}  # no cascade groups for a cascade that is dearer


def test_intervals_are_rounded_in_the_routing_file(tmp_path: Path) -> None:
    """Before: a zero lower bound was written as 5.551115123125783e-17."""
    with StoreBuilder(tmp_path / "perpass.db") as b:
        cell = b.route("m/baseline", prices={"input": 1.2345678, "output": 0.3333333})
        for t in range(6):
            for r in range(3):
                b.episode(cell, f"t{t}", repeat=r, passed=r < 2, ceiling="turn", calls=[(1234, 0, 77, 0, 1.0)])
    an = analyze(tmp_path, PriceBook(overheads=FREE, min_pass_rate=0.3), n_boot=200)
    data = routing_file(an, decision(an)).model_dump(mode="json")
    assert data["tiers"]["T1"]["primary"]["route"] == "m"
    assert unrounded(floats(data["tiers"])) == []


def test_cli_routes_option_names_the_routes_file(decided: tuple[Path, dict, dict, dict], tmp_path: Path) -> None:
    """The plan may be gone: --routes says where the routes are defined."""
    folder, _, _, _ = decided
    out = run_perpass("decide", "--store", str(folder / "runs"), "--boot", "200", "--min-pass-rate", "0.4",
                      "--routes", str(folder / "routes.yaml"), "--routing", str(tmp_path / "r.yaml"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    routing = yaml.safe_load((tmp_path / "r.yaml").read_text())
    assert routing["configs"]["sb/baseline"]["smoke"] == (
        f"perpass smoke solver-b --routes {shlex.quote(str(folder / 'routes.yaml'))}"
    )
