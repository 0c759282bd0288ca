"""No false alarms: every built-in task's oracle, delivered as an agent would, passes the hardened
verifier (no flag, no tamper sign); every unchanged repository fails with tests_failed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from verifier_helpers import new_session, push, start_repo, tree_tar

from perpass.sandbox.task_python import task_python
from perpass.tasks import Task, builtin_tasks
from perpass.verifier import Verdict, verify_delivery

TASKS = builtin_tasks()


def deliver(task: Task, tmp_path: Path, solve: bool) -> Verdict:
    work = start_repo(task.repo, tmp_path / "work")
    if solve:
        assert task.solve_script is not None
        env = {"PATH": f"{task_python().parent}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
        done = subprocess.run(["bash", str(task.solve_script)], cwd=work, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    delivery = push(work) if task.delivery == "push" else tree_tar(work)
    session, layout = new_session(tmp_path / "session")
    try:
        return verify_delivery(task, delivery, session, layout=layout)
    finally:
        session.close()


@pytest.mark.parametrize("task", TASKS, ids=[t.id for t in TASKS])
def test_oracle_passes_without_flags(task: Task, tmp_path: Path) -> None:
    verdict = deliver(task, tmp_path, solve=True)
    assert verdict.passed and verdict.reason == "passed", (verdict.reason, verdict.detail, verdict.evidence)
    assert [e for e in verdict.evidence if e.kind in ("tamper", "audit") or (e.kind == "scan" and not e.allowed)] == []
    assert verdict.tests and all(t.outcome == "passed" for t in verdict.tests if t.required)


@pytest.mark.parametrize("task", TASKS, ids=[t.id for t in TASKS])
def test_unchanged_repository_fails(task: Task, tmp_path: Path) -> None:
    verdict = deliver(task, tmp_path, solve=False)
    assert not verdict.passed and verdict.reason == "tests_failed", (verdict.reason, verdict.detail)
    assert not verdict.delivered
