"""Task-side costs: loading the built-in packs; `tasks check` wall per task (the oracle's episode plus the
unchanged repository's verification), for the built-in tasks as perpass folders and exported to Harbor
and read back; the cached dependency venv's hit path (target <= 100 ms) and a sandbox start with it.
Verification overhead has its own benchmark (bench_verifier.py).
Run: .venv/bin/python benchmarks/bench_tasks.py [--all]   (--all: check every built-in task, not one T1)"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from _timing import median_ms, timings

from perpass.runs.task_check import check_task_detail
from perpass.sandbox import Limits, SessionSpec, open_backend
from perpass.sandbox.task_python import task_env
from perpass.tasks import builtin_tasks, load_task, select_tasks
from perpass.tasks.catalog import PACKS_DIR, load_tasks
from perpass.tasks.export import export_tasks

REPEATS = 9
DEPENDENCY_SET = ("more-itertools==10.5.0",)  # built on first use (from PyPI), then cached


def check_walls(tasks: list, label: str) -> None:  # type: ignore[type-arg]
    backend = open_backend("bwrap")
    walls = []
    for index, task in enumerate(tasks, 1):
        checked = check_task_detail(task, backend)
        walls.append(checked.wall_s)
        print(f"  [{index}/{len(tasks)}] {task.id}: {checked.wall_s:.1f} s {'ok' if checked.ok else 'REJECTED'}",
              file=sys.stderr)
    print(f"tasks check, {label}: {len(tasks)} tasks, {sum(walls):.1f} s in all, per task {median_ms(walls)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--all", action="store_true", help="check every built-in task (both formats)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(f"load built-in packs ({len(builtin_tasks())} tasks, hashes included): "
          f"{median_ms(timings(lambda: load_tasks(PACKS_DIR), REPEATS))}")

    task_env(DEPENDENCY_SET)  # the miss (a pip install) happens once, outside the timing
    hits = timings(lambda: task_env(DEPENDENCY_SET), 101)
    print(f"dependency venv, cached hit (target <= 100 ms): median {statistics.median(hits) * 1e6:.0f} us, "
          f"max {max(hits) * 1e6:.0f} us (n={len(hits)})")
    backend = open_backend("bwrap")
    venv = task_env(DEPENDENCY_SET)
    for label, spec in (("default task Python", SessionSpec(Limits(), shell="fresh", label="bench")),
                        ("dependency venv", SessionSpec(Limits(), shell="fresh", venv=venv, label="bench"))):
        print(f"sandbox start + `python -c pass` + close, {label}: "
              f"{median_ms(timings(lambda spec=spec: run_once(backend, spec), 5))}")

    tasks = builtin_tasks() if args.all else select_tasks(None, None, ["t1-leap-year-rule"])
    check_walls(tasks, "perpass folders")
    with tempfile.TemporaryDirectory() as scratch:
        export_tasks(tasks, "harbor", Path(scratch))
        check_walls([load_task(Path(scratch) / t.id) for t in tasks], "exported to Harbor and read back")


def run_once(backend, spec: SessionSpec) -> None:  # type: ignore[no-untyped-def]
    session = backend.start(spec)
    try:
        assert session.run("python -c pass", 30).exit_code == 0
    finally:
        session.close()


if __name__ == "__main__":
    main()
