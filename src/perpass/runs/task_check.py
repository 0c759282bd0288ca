"""The task-pack check: a task is accepted only if its oracle passes through the real agent loop
and its unchanged repository fails the hidden tests.

The oracle runs as the built-in `oracle` route through `run_episode`: same workspace, sandbox,
push and verifier as a model would get, so a pass also proves the harness works end to end. It
sits with the runner, not in `perpass.tasks`: it drives the agent loop, which reads tasks.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perpass.agent import run_episode
from perpass.endpoints.routes import builtin_routes, open_route
from perpass.sandbox import SandboxBackend
from perpass.tasks.model import Task
from perpass.verifier import InfraError
from perpass.verifier.sandboxed import unchanged_delivery, verify

DETAIL_CHARS = 1500


@dataclass
class TaskCheck:
    id: str
    tier: str
    oracle_pass: bool
    unchanged_fails: bool
    wall_s: float
    problem: str | None = None  # why the task was rejected, for the terminal

    @property
    def ok(self) -> bool:
        return self.oracle_pass and self.unchanged_fails

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "tier": self.tier, "oracle_pass": self.oracle_pass,
                "unchanged_fails": self.unchanged_fails}


def run_oracle(task: Task, backend: SandboxBackend, episode_dir: Path) -> tuple[bool, str | None]:
    with open_route(builtin_routes()["oracle"], episode_dir) as live:
        result = run_episode(task, live, backend, episode_dir)
    if result.passed:
        return True, None
    why = result.error or result.verifier_output or "no verifier output"
    return False, f"oracle failed (stop {result.stop_reason}): {why[-DETAIL_CHARS:]}"


def run_unchanged(task: Task, backend: SandboxBackend) -> tuple[bool, str | None]:
    try:
        verdict = verify(task, unchanged_delivery(task), backend)
    except InfraError as err:
        return False, f"unchanged repository could not be verified: {err}"
    if verdict.passed:
        return False, "the hidden tests pass on the unchanged repository"
    return True, None


def check_task_detail(task: Task, backend: SandboxBackend, work_dir: Path | None = None) -> TaskCheck:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"perpass-check-{task.id}-", dir=work_dir) as tmp:
        oracle_pass, oracle_problem = run_oracle(task, backend, Path(tmp) / "oracle")
        unchanged_fails, unchanged_problem = run_unchanged(task, backend)
    problems = [p for p in (oracle_problem, unchanged_problem) if p]
    return TaskCheck(task.id, task.tier, oracle_pass, unchanged_fails, time.perf_counter() - started,
                     "; ".join(problems) or None)


def check_task(task: Task, backend: SandboxBackend) -> tuple[bool, bool]:
    """(oracle_pass, unchanged_fails); a task is accepted only when both are True."""
    checked = check_task_detail(task, backend)
    return checked.oracle_pass, checked.unchanged_fails
