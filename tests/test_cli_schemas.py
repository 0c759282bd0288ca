"""The JSON Schemas of routes.yaml and plan.yaml accept what perpass accepts (the documented
examples, the starter plan) and reject what it rejects, so an editor's red squiggle is never wrong."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import run_perpass

from perpass.errors import UserError
from perpass.runs.json_schemas import plan_schema, routes_schema
from perpass.runs.plan import load_plan

ROOT = Path(__file__).parent.parent


def yaml_blocks(path: Path) -> list[object]:
    return [yaml.safe_load(b) for b in re.findall(r"^```yaml\n(.*?)^```", path.read_text(), re.M | re.S)]


def errors(schema: dict[str, object], data: object) -> list[str]:
    return [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(data)]


def test_documented_examples_are_valid() -> None:
    blocks = yaml_blocks(ROOT / "README.md")
    routes_files = [b for b in blocks if isinstance(b, dict) and "models" not in b]
    (readme_plan,) = [b for b in blocks if isinstance(b, dict) and "models" in b]
    assert len(routes_files) == 2  # the routes file, and one model under two agents
    for routes in routes_files:
        assert errors(routes_schema(), routes) == []
    assert errors(plan_schema(), readme_plan) == []
    (runs_plan,) = yaml_blocks(ROOT / "docs" / "runs.md")
    assert errors(plan_schema(), runs_plan) == []


def test_init_writes_a_plan_that_points_at_its_schema_and_validates(tmp_path: Path) -> None:
    proc = run_perpass("init", str(tmp_path / "plan.yaml"))
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "plan.yaml").read_text()
    first = text.splitlines()[0]
    assert first == "# yaml-language-server: $schema=./perpass-plan.schema.json"
    schema = yaml.safe_load((tmp_path / "perpass-plan.schema.json").read_text())
    assert schema == plan_schema() and errors(schema, yaml.safe_load(text)) == []
    load_plan(tmp_path / "plan.yaml")  # and perpass itself accepts it


@pytest.mark.parametrize(("change", "complaint"), [
    ({"modles": {}}, "unknown key"),
    ({"repeats": "three"}, "repeats"),
    ({"models": {"m": {"route": "oracle", "factors": {"tempo": [1]}}}}, "unknown factor"),
    ({"models": {"m": {"route": "oracle", "baseline": {"temperature": 5}}}}, "temperature"),
    ({"models": {"m": {"route": "oracle", "factors": {"kv_type": ["q2"]}}}}, "kv_type"),
    ({"routes": {"r": {"kind": "openai"}}, "models": {"m": {"route": "r"}}}, "base_url"),
])
def test_what_perpass_refuses_the_schema_refuses(tmp_path: Path, change: dict[str, object], complaint: str) -> None:
    plan: dict[str, object] = {"tasks": {"ids": ["t0-smoke-hello"]}, "models": {"m": {"route": "oracle"}}}
    plan.update(change)
    assert errors(plan_schema(), plan) != []
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan))
    with pytest.raises(UserError, match=complaint):
        load_plan(path)
