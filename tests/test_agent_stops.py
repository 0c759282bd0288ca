"""Every stop reason is reachable through the real loop (scripted HTTP server, bwrap, real tasks)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from agent_helpers import SUBMIT, T0, T1, bash, episode, run, scripted_route, task, transcript

from perpass.agent.loop import run_episode
from perpass.config import CloudPrices
from perpass.endpoints.client import Endpoint
from perpass.endpoints.local import LocalServer
from perpass.endpoints.routes import LiveRoute, builtin_routes, open_route
from perpass.sandbox import open_backend
from perpass.testing import ScriptedServer


def test_submitted_and_passed(tmp_path: Path) -> None:
    result = episode([bash("echo hello > hello.txt"), SUBMIT], tmp_path)
    assert (result.stop_reason, result.passed, result.submitted) == ("submitted", True, True)
    assert result.ceiling is None and not result.false_done
    assert result.turns == 2 and result.calls == 2
    assert result.prompt_tokens and result.completion_tokens and result.model_s > 0
    steps = transcript(result)["steps"]
    assert steps[0]["action"] == "echo hello > hello.txt" and steps[0]["exit_code"] == 0
    assert steps[1]["action"] == "submit"


def test_unchanged_run_is_a_false_done(tmp_path: Path) -> None:
    result = episode([SUBMIT], tmp_path, T1)
    assert result.stop_reason == "submitted" and result.submitted and not result.passed
    assert result.false_done and result.ceiling == "capability"
    assert result.verifier_output  # the hidden tests ran and said why


def test_turn_limit(tmp_path: Path) -> None:
    result = episode([bash("echo $RANDOM$RANDOM")], tmp_path, max_turns=3)
    assert result.stop_reason == "turn_limit" and result.turns == 3 and result.ceiling == "turn"
    assert not result.submitted and not result.passed


def test_stuck_on_repeated_action_and_observation(tmp_path: Path) -> None:
    result = episode([bash("ls")], tmp_path, stuck_repeats=3, max_turns=10)
    assert result.stop_reason == "stuck" and result.turns == 3 and result.ceiling == "capability"


def test_format_errors_send_a_correction_then_stop(tmp_path: Path) -> None:
    result = episode(["I would edit the file now."], tmp_path, format_error_limit=3, max_turns=10)
    assert result.stop_reason == "format_errors" and result.turns == 3 and result.ceiling == "capability"
    steps = transcript(result)["steps"]
    assert steps[0]["action"] is None
    correction = steps[1]["messages_in"]
    assert len(correction) == 1 and correction[0]["role"] == "user" and "```bash" in correction[0]["content"]


def test_a_good_action_resets_the_format_error_count(tmp_path: Path) -> None:
    script = ["no fence", "still none", bash("echo hello > hello.txt"), "chatter", "more", SUBMIT]
    result = episode(script, tmp_path, format_error_limit=3)
    assert result.stop_reason == "submitted" and result.passed


def test_output_truncated_on_length_streak(tmp_path: Path) -> None:
    cut = {"content": "```bash\necho this command was cut", "finish_reason": "length"}
    result = episode([cut], tmp_path, format_error_limit=2, max_turns=10)
    assert result.stop_reason == "output_truncated" and result.turns == 2 and result.ceiling == "token"


def test_output_truncated_on_the_final_call(tmp_path: Path) -> None:
    result = episode([bash("echo $RANDOM$RANDOM", finish_reason="length")], tmp_path,
                     max_turns=2, format_error_limit=3)
    assert result.stop_reason == "output_truncated" and result.turns == 2


def test_context_limit_before_an_overfull_prompt(tmp_path: Path) -> None:
    route = scripted_route([bash("seq 1 3000")], context_window=2048, max_output_tokens=64,
                           max_observation_chars=4000, stuck_repeats=10, max_turns=20)
    result, _ = run(route, tmp_path)
    assert result.stop_reason == "context_limit" and result.ceiling == "token"
    assert 1 <= result.turns < 20
    last_sent = transcript(result)["steps"][-1]["usage"]["prompt_tokens"]
    assert last_sent + 64 <= 2048  # nothing sent that would not fit


def test_tiny_context_window_stops_before_any_call(tmp_path: Path) -> None:
    result = episode([SUBMIT], tmp_path, context_window=256, max_output_tokens=200)
    assert result.stop_reason == "context_limit" and result.calls == 0 and result.turns == 0


def test_endpoint_error_is_infra_and_skips_the_verifier(tmp_path: Path) -> None:
    result = episode([{"fault": "500"}], tmp_path)
    assert result.stop_reason == "endpoint_error" and result.infra and result.ceiling == "infra"
    assert "500" in (result.error or "") and result.verifier_output == "" and result.verify_s is None
    assert result.calls == 1 and result.turns == 0 and result.prompt_tokens is None


def test_wall_limit(tmp_path: Path) -> None:
    slow = bash("echo $RANDOM$RANDOM", delay_s=0.4)
    result = episode([slow], tmp_path, wall_limit_s=1.0, max_turns=20)
    assert result.stop_reason == "wall_limit" and result.ceiling == "turn"
    assert 1 <= result.turns <= 4


def test_wall_limit_bounds_a_slow_call(tmp_path: Path) -> None:
    # One call slower than the whole episode budget: the call is cut at the deadline, not the client timeout.
    started = time.perf_counter()
    result = episode([bash("true", delay_s=8.0)], tmp_path, wall_limit_s=1.0, max_turns=20)
    assert result.stop_reason == "wall_limit" and result.ceiling == "turn"
    assert time.perf_counter() - started < 6.0


def test_sandbox_error_when_the_sandbox_cannot_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = Path(tempfile.mkdtemp(prefix="perpass-broken-bwrap-"))  # the sandbox user must reach it
    folder.chmod(0o755)
    broken = folder / "bwrap"
    broken.write_text("#!/bin/sh\necho 'bwrap: cannot do what it must' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setenv("PERPASS_BWRAP", str(broken))
    result, _ = run(scripted_route([bash("echo hello > hello.txt"), SUBMIT]), tmp_path)
    assert result.stop_reason == "sandbox_error" and result.infra and "cannot do what it must" in (result.error or "")
    assert result.turns == 0 and result.verify_s is None and not result.false_done
    shutil.rmtree(folder)


def test_session_killed_under_the_agent_is_its_failure_not_infra(tmp_path: Path) -> None:
    # `kill -9 1` from inside is ignored (PID 1 of a pid namespace); here the supervisor is killed from the
    # host while the agent's command runs, as if the command had found a way: the episode must still count.
    killer = "sleep 5; echo survived"
    route = scripted_route([bash("echo hello > hello.txt"), bash(killer), SUBMIT])
    with open_route(route, tmp_path / "logs") as live:
        backend = open_backend()
        original_start = backend.start

        def start_and_arm(spec):  # type: ignore[no-untyped-def]
            session = original_start(spec)
            threading.Timer(1.5, lambda: os.kill(session.host_pid, signal.SIGKILL)).start()
            return session

        backend.start = start_and_arm  # type: ignore[method-assign]
        route_result = run_episode(task(T0), live, backend, tmp_path / "episode")
    assert route_result.stop_reason == "session_lost" and not route_result.infra and not route_result.passed
    assert route_result.ceiling == "capability"


def test_oom_when_the_local_server_died_out_of_memory(tmp_path: Path) -> None:
    fake_model = tmp_path / "model.gguf"
    fake_model.write_bytes(b"GGUF")
    route = builtin_routes()["local-smollm2"].model_copy(update={"gguf": str(fake_model)})
    server = LocalServer(route, tmp_path / "server.log")
    # A real process that dies like llama.cpp does when it cannot allocate its buffers.
    message = "ggml_backend_cuda_buffer_type_alloc_buffer: cudaMalloc failed: out of memory"
    server.proc = subprocess.Popen(["sh", "-c", f"echo '{message}' >> {server.log_path}; exit 1"])
    server.proc.wait()
    with ScriptedServer([{"fault": "drop"}]) as scripted:
        endpoint = Endpoint(scripted.base_url, "m", max_retries=0)
        live = LiveRoute(route, endpoint, server=server)
        result = run_episode(task(T0), live, open_backend(), tmp_path / "episode")
    assert result.stop_reason == "oom" and result.infra and "exited" in (result.error or "")


def test_oracle_route_passes_a_t1_task_at_zero_cost(tmp_path: Path) -> None:
    result, _ = run(builtin_routes()["oracle"], tmp_path, T1)
    assert result.stop_reason == "submitted" and result.passed and not result.false_done
    assert result.prompt_tokens is None and result.completion_tokens is None
    assert all(s.exit_code in (0, None) for s in result.steps)


def test_token_and_cost_budgets_stop_the_builtin_loop_too(tmp_path: Path) -> None:
    tokens = episode([bash("true")], tmp_path / "tokens", max_total_tokens=300)
    assert (tokens.stop_reason, tokens.ceiling) == ("token_limit", "token")
    assert 1 <= tokens.calls < 20 and (tokens.prompt_tokens or 0) + (tokens.completion_tokens or 0) >= 300
    priced = scripted_route([bash("true")], max_cost_usd=0.002).model_copy(
        update={"prices": CloudPrices(input=10.0, output=10.0)})
    cost, _ = run(priced, tmp_path / "cost")
    assert (cost.stop_reason, cost.ceiling) == ("cost_limit", "turn") and 1 <= cost.calls < 20
