"""Append-only history, checked on the server side, and the transcript that rebuilds it exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import SUBMIT, T0, bash, call, run, scripted_route, task, transcript

from perpass.agent.loop import run_episode
from perpass.agent.prompts import SYSTEM_PROMPTS
from perpass.agent.transcript import replay_messages
from perpass.endpoints.routes import open_route
from perpass.errors import UserError
from perpass.sandbox import open_backend

TEXT_SCRIPT = [bash("ls"), "no command here", bash("seq 1 5000"), bash("echo hello > hello.txt"), SUBMIT]
NATIVE_SCRIPT = [call("bash", {"command": "ls"}), "chatter", call("bash", "{bad json"),
                 call("write_file", {"path": "hello.txt", "content": "hello"}), call("submit", {})]


@pytest.mark.parametrize(("protocol", "script"), [("text", TEXT_SCRIPT), ("native", NATIVE_SCRIPT)])
def test_each_request_extends_the_previous_one(tmp_path: Path, protocol: str, script: list[Any]) -> None:
    route = scripted_route(script, tool_protocol=protocol, max_observation_chars=1000)
    result, recorder = run(route, tmp_path, T0, record=True)
    assert recorder is not None and result.stop_reason == "submitted" and result.passed
    requests = recorder.requests
    assert len(requests) == 5
    for before, after in zip(requests, requests[1:], strict=False):
        # Byte-identical prefix: what a local server's KV cache reuse depends on.
        assert json.dumps(after[:len(before)]) == json.dumps(before)
        assert len(after) > len(before)
    # The transcript rebuilds exactly what was sent with each call.
    assert replay_messages(transcript(result)) == requests


def test_long_output_is_cut_in_the_middle_with_a_marker(tmp_path: Path) -> None:
    route = scripted_route(TEXT_SCRIPT, max_observation_chars=1000)
    result, _ = run(route, tmp_path, T0)
    observation = result.steps[2].observation or ""
    assert "characters cut ...]" in observation and len(observation) < 1100
    assert "\n1\n2\n3\n" in observation and observation.rstrip().endswith("5000")


def test_system_prompt_variants(tmp_path: Path) -> None:
    _, recorder = run(scripted_route([SUBMIT], system_prompt="terse"), tmp_path, T0, record=True)
    assert recorder is not None
    assert recorder.requests[0][0] == {"role": "system", "content": SYSTEM_PROMPTS["terse"]}
    first_user = recorder.requests[0][1]["content"]
    assert "Create a file named hello.txt" in first_user and "```bash\nsubmit\n```" in first_user


def test_unknown_system_prompt_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="system_prompt"):
        run(scripted_route([SUBMIT], system_prompt="nope"), tmp_path, T0)


def test_sampling_and_max_tokens_reach_the_server(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    route = scripted_route([SUBMIT], max_output_tokens=77)
    route = route.model_copy(update={"sampling": route.sampling.model_copy(update={"seed": 7, "top_p": 0.9})})
    with open_route(route, tmp_path / "logs") as live:
        assert live.scripted is not None
        original = live.scripted._completion

        def keep_request(request: dict[str, Any], *args: Any) -> dict[str, Any]:
            seen.append(request)  # the request body as the server received it
            return original(request, *args)

        live.scripted._completion = keep_request  # type: ignore[method-assign]
        run_episode(task(T0), live, open_backend(), tmp_path / "episode")
    assert seen[0]["max_tokens"] == 77 and seen[0]["seed"] == 7 and seen[0]["top_p"] == 0.9
    assert seen[0]["temperature"] == 0.2 and "tools" not in seen[0]
