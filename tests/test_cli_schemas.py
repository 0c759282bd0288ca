"""The JSON Schemas of routes.yaml and plan.yaml accept what perpass accepts (the documented
examples, the starter plan) and reject what it rejects, so an editor's red squiggle is never wrong;
the published schemas of `episode --json` and transcript.json match real output (`status --json`:
tests/test_runs_status.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import run_perpass

from perpass.agent.transcript import Transcript
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


SCHEMAS = ROOT / "docs" / "schemas"


def published(name: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return loaded


def test_episode_json_and_its_transcript_match_their_published_schemas(tmp_path: Path) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        "routes:\n"
        "  two-steps:\n"
        "    kind: scripted\n"
        "    script:\n"
        "      - \"```bash\\necho hello > hello.txt\\n```\"\n"
        "      - \"```bash\\nsubmit\\n```\"\n"
    )
    done = run_perpass("episode", "--route", "two-steps", "--task", "t0-smoke-hello", "--routes", str(routes),
                       "--out", str(tmp_path / "ep"), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert errors(published("episode"), summary) == []
    transcript = json.loads(Path(summary["transcript"]).read_text())
    assert errors(published("transcript"), transcript) == []
    assert transcript["version"] == 3 and transcript["summary"]["stop_reason"] == "submitted"
    first = transcript["steps"][0]
    assert isinstance(first["usage"]["prompt_tokens"], int) and first["usage"]["finish_reason"] == "stop"
    Transcript.model_validate(transcript)  # and perpass reads back what it wrote
    # The schemas say what may appear, so a stop reason perpass does not have is refused.
    assert errors(published("episode"), {**summary, "stop_reason": "gave_up"}) != []
    bad_step = {**first, "usage": {"prompt_tokens": "many"}}
    assert errors(published("transcript"), {**transcript, "steps": [bad_step]}) != []

