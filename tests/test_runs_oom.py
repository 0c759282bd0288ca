"""The OOM guard against a real process: a llama-server stand-in that allocates memory steadily.

The floor is set just below what is available now, so the guard fires after the stand-in has taken
a few hundred MB; the stand-in also caps itself, so this machine is never stressed even if the
guard failed (the test would then fail instead).
"""

from __future__ import annotations

import sys
from pathlib import Path

import psutil
import pytest
from runs_helpers import solving_script, write_plan

from perpass.config import resolve_gguf
from perpass.endpoints.routes import builtin_routes
from perpass.hardware import estimate_gguf_memory
from perpass.runs.guard import estimate_server_bytes
from perpass.runs.plan import load_plan
from perpass.runs.scheduler import run_plan
from perpass.runs.store import Store
from perpass.tasks import select_tasks

FAKE_SERVER = """\
#!{python}
# A llama-server look-alike: serves a script over HTTP; with -c >= 8192 it also eats memory steadily.
import argparse, json, sys, time
sys.path.insert(0, {src!r})
from perpass.testing import ScriptedServer

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int)
parser.add_argument("-c", type=int, default=2048)
args, _ = parser.parse_known_args()
script = json.loads(open({script!r}).read())
hog = []
# When growing, answer slowly, so the episode is still running while memory crosses the floor.
with ScriptedServer(script, port=args.port, latency_s=3.0 if args.c >= 8192 else 0.4):
    print("server listening", flush=True)
    while True:
        if args.c >= 8192 and len(hog) < {cap_chunks}:
            hog.append(b"x" * (64 * 2**20))  # 64 MiB, really touched
        time.sleep(0.05)
"""


def test_guard_stops_a_growing_server_before_the_floor_and_the_next_cell_runs(tmp_path: Path) -> None:
    import json

    t0 = select_tasks(None, ["T0"], None)
    script = tmp_path / "script.json"
    script.write_text(json.dumps(solving_script(t0)))
    available = psutil.virtual_memory().available
    floor_mb = (available - 700 * 2**20) / 2**20  # the guard must fire after ~700 MB of growth
    server = tmp_path / "fake-llama-server"
    cap_chunks = 40  # 2.5 GiB at most, even if the guard never fired
    server.write_text(
        FAKE_SERVER.format(
            python=sys.executable,
            src=str(Path(__file__).parents[1] / "src"),
            script=str(script),
            cap_chunks=cap_chunks,
        )
    )
    server.chmod(0o755)
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"not really a gguf")
    routes = {
        "fake-local": {
            "kind": "local",
            "gguf": str(gguf),
            "max_retries": 0,
            "timeout_s": 5,
            "serving": {
                "server": "llama-server",
                "server_binary": str(server),
                "n_ctx": 2048,
                "startup_timeout_s": 20,
            },
        }
    }
    models = {"fake": {"route": "fake-local", "factors": {"n_ctx": [8192], "threads": [3]}}}
    plan = load_plan(
        write_plan(
            tmp_path, models, routes, repeats=1, allow_single_run=True, tiers=("T0",), oom_floor_mb=floor_mb
        )
    )
    with Store(tmp_path / "runs") as store:
        status = run_plan(plan, store)
        cells = {c["label"]: c for c in status["cells"]}
        assert cells["fake/baseline"]["status"] == "done" and cells["fake/baseline"]["passed"] == 1
        grown = cells["fake/n_ctx=8192"]
        assert grown["status"] == "oom", grown
        assert "fell below the floor" in grown["reason"]
        assert cells["fake/threads=3"]["status"] == "done" and cells["fake/threads=3"]["passed"] == 1
        row = store.db.execute(
            "SELECT e.stop_reason, e.infra, e.ceiling FROM episodes e JOIN cells c ON "
            "c.id = e.cell_id WHERE c.label = 'fake/n_ctx=8192'"
        ).fetchone()
        assert tuple(row) == ("oom", 1, "infra")
    # Nothing of the growing server survives.
    leftovers = [
        p for p in psutil.process_iter(["cmdline"]) if str(server) in " ".join(p.info["cmdline"] or [])
    ]
    assert leftovers == []


@pytest.mark.needs_local
def test_config_that_cannot_fit_is_skipped_as_oom_predicted_without_starting(tmp_path: Path) -> None:
    # SmolLM2's real GGUF metadata with a 2M-token f16 KV cache: tens of GB, more than this machine has.
    models = {"huge": {"route": "local-smollm2", "baseline": {"n_ctx": 2_000_000}}}
    plan = load_plan(write_plan(tmp_path, models, repeats=1, allow_single_run=True, tiers=("T0",)))
    with Store(tmp_path / "runs") as store:
        status = run_plan(plan, store)
        cell = status["cells"][0]
        assert (cell["status"], cell["finished"], cell["started"]) == ("oom_predicted", 0, 0)
        assert "GiB available" in cell["reason"]
        assert store.db.execute("SELECT COUNT(*) FROM gates").fetchone()[0] == 0
    assert not (tmp_path / "runs" / "logs").exists()  # no server was ever started


@pytest.mark.needs_local
def test_estimate_leaves_out_the_logits_history_perpass_turns_off() -> None:
    # perpass starts llama-cpp-python with --logits_all false: the guard must not count that buffer.
    route = builtin_routes()["local-smollm2"]
    s = route.serving
    needed, why = estimate_server_bytes(route)
    full = estimate_gguf_memory(resolve_gguf("embedded"), s.n_ctx, s.kv_type, s.n_parallel, server=s.server)
    assert why == "estimated" and full.logits_bytes > 0
    assert needed == full.total_bytes - full.logits_bytes
