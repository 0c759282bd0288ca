"""Benchmark: what a busy machine does to a local model's cost, priced by wall time and by compute time.

    .venv/bin/python benchmarks/bench_local_contention.py [--burners 4] [--repeats 2]

Runs the same short episode of the embedded model (T0, 3 turns) on a quiet machine and beside N
busy loops, and prints each call-sum priced by wall time (what perpass did before issue #13) and by
the server's compute time (its CPU seconds over its threads: llama-cpp-python sends no timings).
The busy loops are this script's own children, killed by their pids when it ends.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from agent_helpers import T0, run  # noqa: E402  (the tests' episode runner: real loop, sandbox, task)

from perpass.endpoints.routes import builtin_routes  # noqa: E402


def episode_seconds() -> tuple[float, float]:
    base = builtin_routes()["local-smollm2"]
    route = base.model_copy(update={"harness": base.harness.model_copy(update={"max_turns": 3})})
    result, _ = run(route, Path(tempfile.mkdtemp(prefix="perpass-bench-")), T0)
    wall = sum(s.usage.latency_s or 0.0 for s in result.steps)
    compute = sum(s.usage.server_cpu_compute_s or 0.0 for s in result.steps)
    return wall, compute


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--burners", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    hourly = builtin_routes()["local-smollm2"].local_costs.hourly  # type: ignore[union-attr]
    quiet = [episode_seconds() for _ in range(args.repeats)]
    load_quiet = os.getloadavg()[0]
    burners = [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(args.burners)]
    try:
        time.sleep(1.0)
        busy = [episode_seconds() for _ in range(args.repeats)]
        load_busy = os.getloadavg()[0]
    finally:
        for proc in burners:
            proc.kill()
            proc.wait()
    for label, runs, load in (("quiet", quiet, load_quiet), (f"{args.burners} busy loops", busy, load_busy)):
        wall = statistics.median(r[0] for r in runs)
        compute = statistics.median(r[1] for r in runs)
        print(f"{label:14s} load {load:4.1f} on {os.cpu_count()} cores: median wall {wall:5.2f} s "
              f"(${wall * hourly / 3600:.6f}), compute {compute:5.2f} s (${compute * hourly / 3600:.6f})")
    ratio = [statistics.median(b[i] for b in busy) / statistics.median(q[i] for q in quiet) for i in (0, 1)]
    print(f"busy / quiet cost: by wall time {ratio[0]:.2f}x, by compute time {ratio[1]:.2f}x")


if __name__ == "__main__":
    main()
