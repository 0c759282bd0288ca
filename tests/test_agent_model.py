"""One episode of the real embedded model (SmolLM2-135M via llama-cpp-python) on the T0 task."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_helpers import T0, run, transcript

from perpass.agent.types import StopReason
from perpass.endpoints.routes import builtin_routes


@pytest.mark.model
def test_embedded_model_episode_ends_with_a_stop_reason_and_a_transcript(tmp_path: Path) -> None:
    result, _ = run(builtin_routes()["local-smollm2"], tmp_path, T0)
    assert result.stop_reason in {s.value for s in StopReason}
    assert not result.infra, result.error
    assert result.calls >= 1 and result.prompt_tokens and result.completion_tokens and result.model_s > 0
    steps = transcript(result)["steps"]
    assert len(steps) == result.turns and steps[0]["messages_in"][0]["role"] == "system"
    assert steps[0]["usage"]["finish_reason"] in ("stop", "length")
