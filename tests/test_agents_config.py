"""harness.agent and its factors in routes and plans: agent, agent_version and agent_args are OFAT
factors; routes that leave them at their defaults keep the config hash they had before they existed;
an unknown agent is the user's one-line error."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from conftest import run_perpass

from perpass.config import LATER_HARNESS_KEYS, Harness
from perpass.endpoints.kinds import make_route
from perpass.runs.plan import load_plan

PLAN = """\
tasks: {ids: [t1-leap-year-rule]}
repeats: 3
models:
  mini:
    route: scripted-mini
    factors:
      agent: [perpass, mini-swe-agent]
      agent_version: [2.4.5]
      agent_args: [["--config", "agent.step_limit=5"]]
"""
ROUTES = """\
routes:
  scripted-mini:
    kind: scripted
    script: ["DONE"]
    harness: {agent: mini-swe-agent}
"""


def test_agent_version_and_args_are_ofat_factors(tmp_path: Path) -> None:
    (tmp_path / "routes.yaml").write_text(ROUTES)
    (tmp_path / "plan.yaml").write_text(PLAN.replace("tasks:", "routes_file: routes.yaml\ntasks:"))
    plan = load_plan(tmp_path / "plan.yaml")
    labels = [c.label for c in plan.cells]
    assert labels[0] == "mini/baseline" and "mini/agent=perpass" in labels and "mini/agent_version=2.4.5" in labels
    cells = {c.label: c.route.harness for c in plan.cells}
    assert cells["mini/agent=perpass"].agent == "perpass" and cells["mini/agent_version=2.4.5"].agent_version == "2.4.5"
    assert any(h.agent_args == ["--config", "agent.step_limit=5"] for h in cells.values())
    assert len({c.config_hash for c in plan.cells}) == len(plan.cells)


def test_routes_without_an_agent_keep_their_config_hash() -> None:
    route = make_route(name="r", kind="scripted", script=[])
    data = route.model_dump(exclude={"name": True, "prices": True, "local_costs": True, "concurrency": True,
                                     "serving": {"port"}})
    for key in LATER_HARNESS_KEYS:  # the agents' fields and pricing's prompt_cache, at their defaults
        del data["harness"][key]
    assert route.config_hash() == hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]
    with_agent = route.model_copy(update={"harness": Harness(agent="mini-swe-agent")})
    assert with_agent.config_hash() != route.config_hash()


def test_an_unknown_agent_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "routes.yaml").write_text(ROUTES.replace("mini-swe-agent", "no-such-agent"))
    done = run_perpass("episode", "--route", "scripted-mini", "--task", "t1-leap-year-rule",
                       "--routes", str(tmp_path / "routes.yaml"), "--out", str(tmp_path / "ep"))
    assert done.returncode == 2
    assert "unknown agent 'no-such-agent'" in done.stderr and "mini-swe-agent" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
