"""The task-pack check: a task is accepted only if its oracle passes through the real agent loop
and its unchanged repository fails the hidden tests.

The oracle runs as the built-in `oracle` route through `run_episode`: same workspace, sandbox,
push and verifier as a model would get, so a pass also proves the harness works end to end. It
sits with the runner, not in `perpass.tasks`: it drives the agent loop, which reads tasks.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perpass.agent import run_episode
from perpass.endpoints.routes import builtin_routes, open_route
from perpass.sandbox import SandboxBackend
from perpass.tasks.model import Task
from perpass.tasks.solvability import unstated_requirements
from perpass.verifier import InfraError, Verdict
from perpass.verifier.expected import base_id
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
    # Hidden tests failing on the unchanged repository and passing after the oracle (FAIL_TO_PASS), and
    # passing on both (PASS_TO_PASS); None when the task's verdicts have no per-test records (a command).
    tests: Transitions | None = None
    source: str = "perpass"
    # Why the oracle's or the unchanged run's verdict failed ("timeout", "tests_failed", ...).
    reasons: tuple[str | None, str | None] = (None, None)
    # What the hidden tests need that neither instruction nor repository states (a lint, not a rejection).
    unstated: list[str] = field(default_factory=list)
    # Flag classes (docs/verifier.md) the oracle's delivery raised that the task does not allow.
    oracle_flags: tuple[str, ...] = ()

    @property
    def fail_to_pass(self) -> int | None:
        return len(self.tests.fail_to_pass) if self.tests else None

    @property
    def pass_to_pass(self) -> int | None:
        return len(self.tests.pass_to_pass) if self.tests else None

    @property
    def ok(self) -> bool:
        return self.oracle_pass and self.unchanged_fails

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "tier": self.tier, "oracle_pass": self.oracle_pass,
                "unchanged_fails": self.unchanged_fails, "fail_to_pass": self.fail_to_pass,
                "pass_to_pass": self.pass_to_pass, "problem": self.problem, "wall_s": round(self.wall_s, 2),
                "source": self.source, "unstated": self.unstated}


@dataclass(frozen=True)
class Transitions:
    """Hidden tests (base ids, parametrized cases folded) by how they went before and after the oracle."""

    fail_to_pass: list[str]
    pass_to_pass: list[str]
    broken: list[str]  # passed on the unchanged repository, not after the oracle


def passing_by_base(verdict: Verdict) -> dict[str, bool]:
    passing: dict[str, bool] = {}
    for test in verdict.tests:
        base = base_id(test.nodeid)
        passing[base] = passing.get(base, True) and test.outcome in ("passed", "xfailed")
    return passing


def transitions(before: Verdict | None, after: Verdict | None) -> Transitions | None:
    """None without per-test records after the oracle (a command verdict, or no verdict). No records before
    (the hidden test module did not even import: a new function, say) means every test failed before."""
    if before is None or after is None or not after.tests:
        return None
    was, now = passing_by_base(before), passing_by_base(after)
    return Transitions(fail_to_pass=[t for t, ok in now.items() if ok and not was.get(t, False)],
                       pass_to_pass=[t for t, ok in now.items() if ok and was.get(t, False)],
                       broken=[t for t, ok in was.items() if ok and not now.get(t, False)])


@dataclass
class Run:
    """One half of the check: did it go the way an accepted task needs, why not, and its verdict."""

    ok: bool
    problem: str | None
    verdict: Verdict | None


def run_oracle(task: Task, backend: SandboxBackend, episode_dir: Path) -> Run:
    with open_route(builtin_routes()["oracle"], episode_dir) as live:
        result = run_episode(task, live, backend, episode_dir)
    if result.passed:
        return Run(True, None, result.verdict)
    why = result.error or result.verifier_output or "no verifier output"
    return Run(False, f"oracle failed (stop {result.stop_reason}): {why[-DETAIL_CHARS:]}", result.verdict)


def run_unchanged(task: Task, backend: SandboxBackend) -> Run:
    try:
        verdict = verify(task, unchanged_delivery(task), backend)
    except InfraError as err:
        return Run(False, f"unchanged repository could not be verified: {err}", None)
    if verdict.passed:
        return Run(False, "the hidden tests pass on the unchanged repository", verdict)
    return Run(True, None, verdict)


def check_task_detail(task: Task, backend: SandboxBackend, work_dir: Path | None = None) -> TaskCheck:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"perpass-check-{task.id}-", dir=work_dir) as tmp:
        oracle = run_oracle(task, backend, Path(tmp) / "oracle")
        unchanged = run_unchanged(task, backend)
    problems = [p for p in (oracle.problem, unchanged.problem) if p]
    reasons: tuple[str | None, str | None] = (oracle.verdict.reason if oracle.verdict else None,
                                              unchanged.verdict.reason if unchanged.verdict else None)
    flags = sorted({str(e.cls) for e in (oracle.verdict.evidence if oracle.verdict else [])
                    if e.kind in ("scan", "audit") and not e.allowed})
    return TaskCheck(task.id, task.tier, oracle.ok, unchanged.ok, time.perf_counter() - started,
                     "; ".join(problems) or None, transitions(unchanged.verdict, oracle.verdict), task.source,
                     reasons, unstated_requirements(task), tuple(flags))


def check_task(task: Task, backend: SandboxBackend) -> tuple[bool, bool]:
    """(oracle_pass, unchanged_fails); a task is accepted only when both are True."""
    checked = check_task_detail(task, backend)
    return checked.oracle_pass, checked.unchanged_fails
