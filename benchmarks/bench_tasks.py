"""Task-side costs: verification overhead beyond the hidden tests' own run (target <= 200 ms median),
loading the built-in packs, and one oracle pack check. Run: .venv/bin/python benchmarks/bench_tasks.py"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from perpass.sandbox import Sandbox, create_workspace
from perpass.sandbox.workspace import run_git
from perpass.tasks import builtin_tasks, select_tasks, verify
from perpass.tasks.catalog import PACKS_DIR, load_tasks
from perpass.tasks.check import check_task_detail

REPEATS = 9


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.1f} ms (min {min(values) * 1000:.1f}, n={len(values)})"


def push_fix(work: Path, remote: Path) -> None:
    path = work / "calendar_utils.py"
    path.write_text(path.read_text().replace("year % 100 != 0", "(year % 100 != 0 or year % 400 == 0)"))
    for args in (["add", "-A"], ["commit", "-qm", "fix"], ["push", "-q", str(remote), "HEAD:main"]):
        done = run_git(args, work)
        assert done.returncode == 0, done.stderr


def bench_verify(sandbox: Sandbox, task_id: str, pushed: bool) -> tuple[list[float], list[float]]:
    task = select_tasks(None, None, [task_id])[0]
    overheads, tests = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(REPEATS):
            workspace = create_workspace(task.repo, Path(tmp) / f"ep{i}")
            if pushed:
                assert workspace.remote is not None
                push_fix(workspace.work, workspace.remote)
            verdict = verify(task, workspace, sandbox)
            assert verdict.passed == pushed or task.delivery == "workspace", verdict.output
            overheads.append(verdict.wall_s - verdict.tests_s)
            tests.append(verdict.tests_s)
    return overheads, tests


def main() -> None:
    sandbox = Sandbox()
    loads = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        load_tasks(PACKS_DIR)  # what the first builtin_tasks() of a process costs; later calls are cached
        loads.append(time.perf_counter() - started)
    print(f"load built-in packs ({len(builtin_tasks())} tasks, hashes included): {median_ms(loads)}")
    for label, task_id, pushed in [("push, fix pushed     ", "t1-leap-year-rule", True),
                                   ("push, nothing pushed ", "t1-leap-year-rule", False),
                                   ("workspace delivery   ", "t0-smoke-hello", False)]:
        overheads, tests = bench_verify(sandbox, task_id, pushed)
        print(f"verify overhead, {label}: {median_ms(overheads)}   hidden tests: {median_ms(tests)}")
    checks = []
    task = select_tasks(None, None, ["t1-leap-year-rule"])[0]
    for _ in range(3):
        checks.append(check_task_detail(task, sandbox).wall_s)
    print(f"pack check of one T1 task (oracle episode + unchanged verify): {median_ms(checks)}")


if __name__ == "__main__":
    main()
