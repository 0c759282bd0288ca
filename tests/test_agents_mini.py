"""mini-swe-agent from PyPI, installed by perpass, run inside the sandbox on a built-in T1 task through
the metering gateway: scripted tool calls that fix the bug pass; the same run outside perpass (its own
`mini` CLI on the host, straight at the scripted server) spends the same tokens."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from agent_helpers import T1, run, task, transcript
from external_helpers import LEAP_FIX, PUSH

from perpass.agent.external.base import AGENT_HOME, AgentContext
from perpass.agent.external.mini_swe_agent import TRAJECTORY, MiniSweAgent
from perpass.config import Harness, RouteBase
from perpass.endpoints.kinds import make_route
from perpass.testing import ScriptedServer

SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"


def tool(command: str) -> dict[str, Any]:
    return {"content": "THOUGHT: next step.", "tool_calls": [{"name": "bash", "arguments": {"command": command}}]}


FIX_SCRIPT = [tool(LEAP_FIX), tool(PUSH), tool(SUBMIT)]


def mini_route(script: list[Any], **harness: Any) -> RouteBase:
    return make_route(name="mini-scripted", kind="scripted", model="scripted", script=script, max_retries=0,
                 harness=Harness(agent="mini-swe-agent", tool_protocol="native", **harness))


def test_mini_swe_agent_fixes_the_bug_in_the_sandbox_and_passes(tmp_path: Path) -> None:
    result, _ = run(mini_route(FIX_SCRIPT), tmp_path, T1)
    log = (tmp_path / "episode" / "agent.log").read_text()
    assert (result.stop_reason, result.passed) == ("submitted", True), log[-3000:]
    assert (result.turns, result.calls) == (3, 3)
    data = transcript(result)
    assert data["external"]["agent"] == "mini-swe-agent" and data["external"]["agent_version"] == "2.4.6"
    assert [s["tool_calls"][0]["name"] for s in data["steps"]] == ["bash"] * 3
    assert result.prompt_tokens and result.completion_tokens


def test_mini_swe_agent_is_cut_off_at_max_turns(tmp_path: Path) -> None:
    result, _ = run(mini_route([tool("true")], max_turns=2), tmp_path, T1)
    assert (result.stop_reason, result.calls) == ("turn_limit", 2)
    # mini retries the refused call with backoff for minutes; perpass ends it a second after the refusal
    assert result.wall_s < 60
    assert [c["status"] for c in transcript(result)["external"]["gateway_calls"]] == [200, 200, 403]


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def native_mini(script: list[Any], folder: Path) -> tuple[dict[str, Any], str]:
    """mini-swe-agent's own CLI on the host, outside perpass, straight at the scripted server: its
    trajectory and what it pushed."""
    work, remote, home = folder / "work", folder / "remote.git", folder / "home"
    shutil.copytree(task(T1).repo, work)
    home.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "agent", "GIT_AUTHOR_EMAIL": "agent@example.com",
           "GIT_COMMITTER_NAME": "agent", "GIT_COMMITTER_EMAIL": "agent@example.com"}
    git("init", "-q", "-b", "main", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-qm", "Initial task state", cwd=work)
    git("clone", "-q", "--bare", str(work), str(remote), cwd=folder)
    git("remote", "add", "origin", str(remote), cwd=work)
    agent = MiniSweAgent(Harness(agent="mini-swe-agent", tool_protocol="native"))
    with ScriptedServer(script, model="scripted") as server:
        context = AgentContext(task(T1).instruction, server.base_url, "scripted", 30)
        command = agent.command(context).replace(AGENT_HOME, str(agent.install()))
        command = command.replace(TRAJECTORY, str(folder / "mini.traj.json")).replace("/workspace", str(work))
        subprocess.run(command, shell=True, cwd=work, env={**env, **agent.env(context)}, check=True,
                       capture_output=True, timeout=300)
    pushed = subprocess.run(["git", "show", "main:calendar_utils.py"], cwd=remote, capture_output=True,
                            text=True).stdout
    return json.loads((folder / "mini.traj.json").read_text()), pushed


def test_mini_swe_agent_natively_and_under_perpass_same_outcome_and_tokens(tmp_path: Path) -> None:
    trajectory, pushed = native_mini(FIX_SCRIPT, tmp_path / "native")
    usages = [m["extra"]["response"]["usage"] for m in trajectory["messages"]
              if m.get("role") == "assistant" and "response" in m.get("extra", {})]
    assert trajectory["info"]["exit_status"] == "Submitted" and "% 400 == 0" in pushed
    result, _ = run(mini_route(FIX_SCRIPT), tmp_path / "perpass", T1)
    assert (result.stop_reason, result.passed) == ("submitted", True)
    assert result.calls == len(usages) == 3
    assert result.prompt_tokens == sum(u["prompt_tokens"] for u in usages)
    assert result.completion_tokens == sum(u["completion_tokens"] for u in usages)
