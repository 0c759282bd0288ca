"""The native tool protocol through the real loop: each tool, bad arguments, and path escapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent_helpers import T0, call, run, scripted_route, transcript

from perpass.agent.types import EpisodeResult

SUBMIT_CALL = call("submit", {})


def native(script: list[Any], tmp_path: Path, **harness: Any) -> EpisodeResult:
    route = scripted_route(script, tool_protocol="native", stuck_repeats=10, **harness)
    return run(route, tmp_path, T0)[0]


def observations(result: EpisodeResult) -> list[str]:
    return [s["observation"] for s in transcript(result)["steps"]]


def test_write_file_then_submit_passes(tmp_path: Path) -> None:
    result = native([call("write_file", {"path": "hello.txt", "content": "hello\n"}), SUBMIT_CALL], tmp_path)
    assert result.stop_reason == "submitted" and result.passed
    first = transcript(result)["steps"][1]["messages_in"][0]
    assert first["role"] == "tool" and first["tool_call_id"] == "call_0" and "wrote 6 characters" in first["content"]


def test_bash_read_and_edit(tmp_path: Path) -> None:
    script = [
        call("bash", {"command": "printf 'say hi\\nsay hi\\nbye\\n' > notes.txt && echo made"}),
        call("read_file", {"path": "/workspace/notes.txt"}),
        call("edit_file", {"path": "notes.txt", "old_text": "say hi", "new_text": "x"}),  # twice: refused
        call("edit_file", {"path": "notes.txt", "old_text": "absent", "new_text": "x"}),  # missing: refused
        call("edit_file", {"path": "notes.txt", "old_text": "bye", "new_text": "hello"}),
        call("bash", {"command": "grep -c hello notes.txt && grep hello notes.txt > hello.txt"}),
        SUBMIT_CALL,
    ]
    result = native(script, tmp_path)
    obs = observations(result)
    assert "made" in obs[0] and "say hi\nsay hi\nbye" in obs[1]
    assert "occurs 2 times" in obs[2] and "occurs 0 times" in obs[3] and "edited notes.txt" in obs[4]
    assert obs[5].startswith("[exit code 0]\n1")
    assert result.stop_reason == "submitted" and result.passed  # hello.txt holds the edited line


def test_path_escapes_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "host-secret.txt"
    secret.write_text("host secret")
    script = [
        call("read_file", {"path": "../../etc/passwd"}),
        call("read_file", {"path": "/etc/passwd"}),
        call("read_file", {"path": str(secret)}),
        call("bash", {"command": f"ln -s /etc/hostname out-link && ln -s {tmp_path} out-dir"}),
        call("read_file", {"path": "out-link"}),
        call("write_file", {"path": "out-dir/host-secret.txt", "content": "overwritten"}),
        call("write_file", {"path": "sub/../../x.txt", "content": "x"}),
        SUBMIT_CALL,
    ]
    result = native(script, tmp_path)
    obs = observations(result)
    assert "contains '..'" in obs[0]
    assert "outside the repository" in obs[1] and "outside the repository" in obs[2]
    assert "resolves outside the repository" in obs[4] and "resolves outside the repository" in obs[5]
    assert "contains '..'" in obs[6]
    assert secret.read_text() == "host secret"
    assert result.stop_reason == "submitted"


def test_invalid_json_and_unknown_tools_are_format_errors(tmp_path: Path) -> None:
    script = [
        call("bash", '{"command": "ls"'),  # cut JSON
        call("rm_rf", {"path": "."}),
        call("write_file", {"path": "a.txt"}),  # missing content
    ]
    result = native(script, tmp_path, format_error_limit=3, max_turns=10)
    obs = observations(result)
    assert "not valid JSON" in obs[0] and "unknown tool 'rm_rf'" in obs[1] and "needs string" in obs[2]
    assert result.stop_reason == "format_errors" and result.turns == 3


def test_a_reply_without_tool_calls_gets_a_correction(tmp_path: Path) -> None:
    result = native(["Let me think about it.", SUBMIT_CALL], tmp_path)
    steps = transcript(result)["steps"]
    assert steps[0]["action"] is None
    assert steps[1]["messages_in"][0]["role"] == "user" and "call" in steps[1]["messages_in"][0]["content"]
    assert result.stop_reason == "submitted" and not result.passed and result.false_done


def test_several_tool_calls_in_one_reply(tmp_path: Path) -> None:
    both = {"content": "", "tool_calls": [
        {"name": "write_file", "arguments": {"path": "hello.txt", "content": "hello"}},
        {"name": "bash", "arguments": {"command": "cat hello.txt"}},
    ]}
    result = native([both, SUBMIT_CALL], tmp_path)
    tool_messages = transcript(result)["steps"][1]["messages_in"]
    assert [m["tool_call_id"] for m in tool_messages] == ["call_0", "call_1"]
    assert tool_messages[1]["content"].endswith("hello") and result.passed
