"""Ray executor benchmark: `.venv/bin/python benchmarks/bench_ray.py` prints medians and the speed-up.

64 episodes (2 tasks x 32 repeats) of a remote route against the scripted server at 200 ms per call,
3 calls each, run through `perpass.runs.scheduler.run_plan` with the Ray executor on a local Ray
instance of 1 worker CPU, then of 8 (simulated workers: this machine has 2 cores, the episodes wait
on the endpoint). The route allows 8 at once in both, so the worker count is the only difference.
Episodes skip the sandbox (bench_runs.http_episode), as bench_runs does for the thread executor: the
figure measures the executor, the object store round trips and the driver's store, not bubblewrap.
Workers are started (and import perpass) before the clock starts, as on a cluster that is up.
Target: 8 workers >= 6x faster than 1.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import ray
from bench_runs import http_episode, plan_for

from perpass.runs.executors import RayExecutor
from perpass.runs.scheduler import run_plan
from perpass.runs.store import Store
from perpass.testing import ScriptedServer

EPISODES = 64


def warm_up(workers: int) -> None:
    """Start every worker process and load perpass in it, as a running cluster would have."""

    @ray.remote(num_cpus=1)
    def load() -> int:
        import perpass.runs.executors.ray  # noqa: F401

        time.sleep(1.0)  # held long enough that every worker CPU gets its own process
        return os.getpid()

    pids = set(ray.get([load.remote() for _ in range(workers)]))
    assert len(pids) == workers, pids


def run_once(folder: Path, url: str) -> float:
    routes = {"remote": {"kind": "openai", "base_url": url, "concurrency": 8}}
    plan = plan_for(EPISODES // 2, route="remote", routes=routes)
    started = time.perf_counter()
    with Store(folder) as store:
        status = run_plan(plan, store, episode_fn=http_episode, executor=RayExecutor())
    elapsed = time.perf_counter() - started
    assert (status["finished"], status["infra"]) == (EPISODES, 0), status
    return elapsed


def timed(workers: int, runs: int, url: str, root: Path) -> list[float]:
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    try:
        warm_up(workers)
        return [run_once(root / f"w{workers}-{i}", url) for i in range(runs)]
    finally:
        ray.shutdown()


def main() -> None:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, ScriptedServer(["```bash\nls\n```"], latency_s=0.2) as server:
        one = timed(1, 1, server.base_url, Path(tmp))
        eight = timed(8, 3, server.base_url, Path(tmp))
    s, w = statistics.median(one), statistics.median(eight)
    load_after = os.getloadavg()
    print(f"{EPISODES} episodes x 3 calls at 200 ms through Ray: 1 worker {s:.1f} s, 8 workers {w:.1f} s "
          f"(median of {len(eight)}: {', '.join(f'{x:.1f}' for x in eight)}): {s / w:.1f}x faster (target >= 6x); "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
