"""Task-side costs: loading the built-in packs, and one pack check (the oracle's episode plus the
unchanged repository's verification). Verification overhead has its own benchmark (bench_verifier.py).
Run: .venv/bin/python benchmarks/bench_tasks.py"""

from __future__ import annotations

import os
import statistics
import time

from perpass.runs.task_check import check_task_detail
from perpass.sandbox import open_backend
from perpass.tasks import builtin_tasks, select_tasks
from perpass.tasks.catalog import PACKS_DIR, load_tasks

REPEATS = 9


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.1f} ms (min {min(values) * 1000:.1f}, n={len(values)})"


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.2f}")
    loads = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        load_tasks(PACKS_DIR)  # what the first builtin_tasks() of a process costs; later calls are cached
        loads.append(time.perf_counter() - started)
    print(f"load built-in packs ({len(builtin_tasks())} tasks, hashes included): {median_ms(loads)}")
    backend = open_backend("bwrap")
    task = select_tasks(None, None, ["t1-leap-year-rule"])[0]
    checks = [check_task_detail(task, backend).wall_s for _ in range(3)]
    print(f"pack check of one T1 task (oracle episode + unchanged verify): {median_ms(checks)}")


if __name__ == "__main__":
    main()
