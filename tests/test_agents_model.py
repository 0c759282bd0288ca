"""mini-swe-agent and aider on the real embedded model (SmolLM2-135M through llama-cpp-python) behind the
metering gateway: each episode ends with some stop reason, never infra, and every call's tokens are
metered. One model call each (max_turns 1): SmolLM2 reads these agents' long prompts slowly here."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_helpers import T1, run, transcript

from perpass.agent.types import StopReason
from perpass.endpoints.routes import builtin_routes

AGENT_ARGS = {"mini-swe-agent": [], "aider": ["--map-tokens", "0"]}


@pytest.mark.model
@pytest.mark.parametrize("agent", list(AGENT_ARGS))
def test_an_installed_agent_on_the_embedded_model_completes_with_metered_tokens(agent: str, tmp_path: Path) -> None:
    local = builtin_routes()["local-smollm2"]
    route = local.model_copy(update={"harness": local.harness.model_copy(update={
        "agent": agent, "agent_args": AGENT_ARGS[agent], "max_turns": 1, "max_output_tokens": 48,
        "wall_limit_s": 240})})
    result, _ = run(route, tmp_path, T1)
    log = (tmp_path / "episode" / "agent.log").read_text()
    assert result.stop_reason in {s.value for s in StopReason}  # turn_limit, unless the model finishes at once
    assert not result.infra, f"{result.error}\n{log[-2000:]}"
    assert result.calls >= 1 and result.prompt_tokens and result.completion_tokens and result.model_s > 0
    steps = transcript(result)["steps"]
    assert all(s["usage"]["prompt_tokens"] > 0 for s in steps) and len(steps) == result.turns
