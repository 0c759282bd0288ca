"""Memory and speed estimates against the real embedded model served by llama-cpp-python."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from perpass.config import embedded_gguf
from perpass.endpoints.client import Endpoint
from perpass.endpoints.local import LocalServer
from perpass.endpoints.routes import builtin_routes
from perpass.hardware import estimate_gguf_memory, roofline_for_route

MIB = 1 << 20


def _log_mib(log: str, what: str) -> float:
    found = re.findall(rf"{what} buffer size =\s+([\d.]+) MiB", log)
    assert found, f"no '{what} buffer size' line in the server log"
    return float(found[-1])


@pytest.mark.model
def test_estimates_match_server_at_two_contexts(tmp_path: Path) -> None:
    base = builtin_routes()["local-smollm2"]
    rss: dict[int, int] = {}
    for n_ctx in (2048, 8192):
        route = base.model_copy(update={"serving": base.serving.model_copy(update={"n_ctx": n_ctx})})
        est = estimate_gguf_memory(embedded_gguf(), n_ctx)
        with LocalServer(route, tmp_path / f"server-{n_ctx}.log") as server:
            Endpoint(server.base_url, route.model).chat(
                [{"role": "user", "content": "Say hi."}], max_tokens=8
            )
            rss[n_ctx] = server.tree_rss_bytes()
            log = server.log_tail(200_000)
        # What llama.cpp itself allocated.
        assert est.kv_bytes == pytest.approx(_log_mib(log, "CPU KV") * MIB, rel=0.01)
        assert est.compute_bytes == pytest.approx(_log_mib(log, "CPU compute") * MIB, rel=0.25)
        # What the process really holds after one short call.
        assert est.resident_bytes == pytest.approx(rss[n_ctx], rel=0.25)
        assert rss[n_ctx] < est.total_bytes  # the guard's figure is an upper bound
    # The KV estimate explains the growth between the two contexts.
    smol = embedded_gguf()
    kv_growth = estimate_gguf_memory(smol, 8192).kv_bytes - estimate_gguf_memory(smol, 2048).kv_bytes
    assert rss[8192] - rss[2048] == pytest.approx(kv_growth, rel=0.25)


@pytest.mark.model
def test_measured_decode_is_a_fraction_of_the_roofline(tmp_path: Path) -> None:
    route = builtin_routes()["local-smollm2"]
    estimate = roofline_for_route(route)
    with LocalServer(route, tmp_path / "server.log") as server:
        reply = Endpoint(server.base_url, route.model).chat(
            [{"role": "user", "content": "Count from one to twenty in words."}], max_tokens=48, temperature=0
        )
    usage = reply.usage
    measured = usage.decode_tok_s if usage.decode_tok_s else usage.completion_tokens / usage.latency_s
    # On a CPU box the bandwidth is a single-thread lower bound and threads are few, so only sanity:
    # the measured speed is positive and not wildly above the ceiling.
    assert 0 < measured < 3 * estimate
