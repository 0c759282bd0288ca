"""Claude Code from npm, installed by perpass, run inside the sandbox on a built-in T1 task: it speaks
Anthropic Messages to the gateway, which translates to the scripted chat server and back. Scripted Bash
tool calls fix the bug and pass; a one-call budget cuts it off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent_helpers import T1, run, transcript
from external_helpers import LEAP_FIX, PUSH

from perpass.config import Harness, RouteBase
from perpass.endpoints.kinds import make_route


def bash_tool(command: str) -> dict[str, Any]:
    return {"content": "", "tool_calls": [{"name": "Bash", "arguments": {"command": command,
                                                                         "description": "next step"}}]}


SCRIPT = [bash_tool(LEAP_FIX), bash_tool(PUSH), "Fixed and pushed."]


def claude_route(script: list[Any], **harness: Any) -> RouteBase:
    return make_route(name="claude-scripted", kind="scripted", model="scripted", script=script, max_retries=0,
                      harness=Harness(agent="claude-code", **harness))


def test_claude_code_fixes_the_bug_through_the_messages_wire_and_passes(tmp_path: Path) -> None:
    result, _ = run(claude_route(SCRIPT), tmp_path, T1)
    log = (tmp_path / "episode" / "agent.log").read_text()
    assert (result.stop_reason, result.passed) == ("submitted", True), log[-3000:]
    data = transcript(result)
    assert data["external"]["agent"] == "claude-code" and result.calls >= 3
    assert [s["tool_calls"][0]["name"] for s in data["steps"] if s["tool_calls"]][:2] == ["Bash"] * 2
    assert result.prompt_tokens and result.completion_tokens


def test_claude_code_is_cut_off_by_its_call_budget(tmp_path: Path) -> None:
    result, _ = run(claude_route(SCRIPT, max_turns=1), tmp_path, T1)
    assert (result.stop_reason, result.calls) == ("turn_limit", 1)
    assert [c["status"] for c in transcript(result)["external"]["gateway_calls"]][:2] == [200, 403]
    assert result.wall_s < 90
