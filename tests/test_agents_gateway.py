"""External agents behind the metering gateway, driven by a scripted server (real HTTP, real bwrap,
real git): the `command` adapter with a tiny agent, budgets, and what the sandboxed agent can reach."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from agent_helpers import T1, run, task, transcript
from conftest import run_perpass
from external_helpers import LEAP_FIX, PUSH, TINY_AGENT, tiny_agent_route

from perpass.agent.loop import run_episode
from perpass.cli.episode import EPISODE_KEYS
from perpass.config import Harness
from perpass.endpoints.kinds import make_route
from perpass.endpoints.routes import open_route
from perpass.errors import UserError
from perpass.sandbox import open_backend


def test_a_command_agent_fixes_the_bug_through_the_gateway_and_every_call_is_metered(tmp_path: Path) -> None:
    result, _ = run(tiny_agent_route([LEAP_FIX, PUSH, "DONE"]), tmp_path, T1)
    assert (result.stop_reason, result.passed, result.ceiling) == ("submitted", True, None)
    assert (result.turns, result.calls) == (3, 3)
    data = transcript(result)
    assert data["external"]["agent"] == "command" and data["protocol"] == "external"
    assert [s["reply"] for s in data["steps"]] == [LEAP_FIX, PUSH, "DONE"]
    # the scripted server counts ~4 chars a token; the gateway passes its usage on untouched
    assert all(s["usage"]["prompt_tokens"] > 0 and s["usage"]["completion_tokens"] > 0 for s in data["steps"])
    assert result.prompt_tokens == sum(s["usage"]["prompt_tokens"] for s in data["steps"])
    # append-only history: each step holds only what is new (the previous output as a user message)
    assert [m["role"] for m in data["steps"][1]["messages_in"]] == ["user"]
    assert (tmp_path / "episode" / "agent.log").exists()


def test_past_max_turns_the_gateway_refuses_and_the_episode_ends_with_turn_limit(tmp_path: Path) -> None:
    result, _ = run(tiny_agent_route(["true"], max_turns=2), tmp_path, T1)
    assert (result.stop_reason, result.ceiling, result.calls) == ("turn_limit", "turn", 2)
    log = (tmp_path / "episode" / "agent.log").read_text()
    assert "refused: 403" in log and "budget exhausted" in log  # the agent saw why
    calls = transcript(result)["external"]["gateway_calls"]
    assert [c["status"] for c in calls] == [200, 200, 403]


def test_token_and_cost_budgets_end_the_episode_with_their_stop_reasons(tmp_path: Path) -> None:
    tokens, _ = run(tiny_agent_route(["true"], max_total_tokens=60), tmp_path / "tokens", T1)
    assert (tokens.stop_reason, tokens.ceiling) == ("token_limit", "token")
    priced = tiny_agent_route(["true"], prices={"input": 10.0, "output": 10.0}, max_cost_usd=0.001)
    cost, _ = run(priced, tmp_path / "cost", T1)
    assert cost.stop_reason == "cost_limit"
    assert 1 <= cost.calls < 20


def test_the_sandboxed_agent_reaches_the_gateway_and_nothing_else(tmp_path: Path) -> None:
    probe = ("python -c \"import socket\nfor host, port in [('127.0.0.1', 4000), ('127.0.0.1', 22), "
             "('10.0.0.1', 80), ('1.1.1.1', 53), ('8.8.8.8', 443)]:\n"
             "    s = socket.socket(); s.settimeout(2)\n"
             "    try:\n        s.connect((host, port)); print(host, port, 'open')\n"
             "    except OSError as e:\n        print(host, port, 'closed')\n\"")
    result, _ = run(tiny_agent_route([probe, "DONE"]), tmp_path, T1)
    data = transcript(result)
    seen = data["steps"][1]["messages_in"][0]["content"]
    assert "127.0.0.1 4000 open" in seen
    for closed in ("127.0.0.1 22 closed", "10.0.0.1 80 closed", "1.1.1.1 53 closed", "8.8.8.8 443 closed"):
        assert closed in seen
    assert json.dumps(data).count("sk-perpass-gateway") == 0  # the dummy key is not in the transcript either


def test_perpass_episode_json_works_for_an_external_agent(tmp_path: Path) -> None:
    routes = {"routes": {"tiny": {"kind": "scripted", "script": [LEAP_FIX, PUSH, "DONE"],
                                  "harness": {"agent": "command", "agent_command": TINY_AGENT}}}}
    (tmp_path / "routes.yaml").write_text(json.dumps(routes))  # JSON is YAML
    done = run_perpass("episode", "--route", "tiny", "--task", T1, "--routes", str(tmp_path / "routes.yaml"),
                       "--out", str(tmp_path / "ep"), "--json", timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert set(EPISODE_KEYS) <= set(summary)  # the same fields as for the built-in loop
    assert (summary["stop_reason"], summary["passed"], summary["calls"]) == ("submitted", True, 3)
    assert summary["prompt_tokens"] > 0 and Path(summary["transcript"]).exists()


def test_an_agent_out_of_time_is_wall_limit_and_one_that_fails_is_agent_crashed(tmp_path: Path) -> None:
    slow, _ = run(tiny_agent_route(["sleep 60"], wall_limit_s=4), tmp_path / "slow", T1)
    assert (slow.stop_reason, slow.ceiling) == ("wall_limit", "turn") and slow.wall_s < 30
    crashed, _ = run(make_route(name="crash", kind="scripted", script=[], max_retries=0,
                                harness=Harness(agent="command", agent_command="echo cannot go on; exit 7")),
                     tmp_path / "crash", T1)
    assert (crashed.stop_reason, crashed.ceiling, crashed.passed, crashed.infra) == \
        ("agent_crashed", "capability", False, False)
    assert "cannot go on" in (tmp_path / "crash" / "episode" / "agent.log").read_text()


def test_external_agents_need_a_sandbox_that_can_show_them(tmp_path: Path) -> None:
    with open_route(tiny_agent_route(["DONE"]), tmp_path / "logs") as live, \
            pytest.raises(UserError, match="--sandbox bwrap"):
        run_episode(task(T1), live, open_backend("none"), tmp_path / "episode")
