"""A local server without timings (llama-cpp-python, the embedded model): each call's compute time is the
server's CPU seconds over its threads, so a busy machine's waiting is not billed as model work."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_helpers import T0, run

from perpass.analysis.pricemodels import CallUsage
from perpass.endpoints.routes import builtin_routes

pytestmark = pytest.mark.model


def test_calls_of_the_embedded_model_carry_its_measured_compute_time(tmp_path: Path) -> None:
    base = builtin_routes()["local-smollm2"]
    route = base.model_copy(update={"harness": base.harness.model_copy(update={"max_turns": 2})})
    result, _ = run(route, tmp_path, T0)
    assert result.steps
    for step in result.steps:
        usage = step.usage
        cpu = usage.server_cpu_compute_s
        assert usage.server_prompt_ms is None  # llama-cpp-python sends no timings
        assert cpu is not None and 0 < cpu <= (usage.latency_s or 0) * 1.5
        assert usage.compute_s == cpu
        assert float(CallUsage.from_usage(usage.to_dict()).compute_s[0]) == pytest.approx(cpu)
