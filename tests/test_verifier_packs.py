"""No false alarms: every built-in task's oracle, run by a real agent session (its solve.sh, then a
commit and push by git inside the session), read out and verified as the product does, passes the
hardened verifier (no flag, no tamper sign); every unchanged repository fails with tests_failed."""

from __future__ import annotations

import pytest
from verifier_helpers import COMMIT_AND_PUSH, backend, deliver_by

from perpass.tasks import Task, builtin_tasks
from perpass.verifier import Verdict
from perpass.verifier.sandboxed import unchanged_delivery, verify

TASKS = builtin_tasks()


def solved(task: Task) -> Verdict:
    assert task.solve_script is not None
    commands = ["bash /tmp/solve.sh", *([COMMIT_AND_PUSH] if task.delivery == "push" else [])]
    delivery = deliver_by(task, *commands, tmp_files={"solve.sh": task.solve_script.read_bytes()})
    return verify(task, delivery, backend())


@pytest.mark.parametrize("task", TASKS, ids=[t.id for t in TASKS])
def test_oracle_passes_without_flags(task: Task) -> None:
    verdict = solved(task)
    assert verdict.passed and verdict.reason == "passed", (verdict.reason, verdict.detail, verdict.evidence)
    assert [e for e in verdict.evidence if e.kind in ("tamper", "audit") or (e.kind == "scan" and not e.allowed)] == []
    assert verdict.tests and all(t.outcome == "passed" for t in verdict.tests if t.required)
    assert verdict.delivered


@pytest.mark.parametrize("task", TASKS, ids=[t.id for t in TASKS])
def test_unchanged_repository_fails(task: Task) -> None:
    """Both ways an unchanged repository reaches the verifier: read out of an idle agent session, and
    `unchanged_delivery` (what `tasks check` uses, with no session at all)."""
    for delivery in (deliver_by(task), unchanged_delivery(task)):
        verdict = verify(task, delivery, backend())
        assert not verdict.passed and verdict.reason == "tests_failed", (verdict.reason, verdict.detail)
        assert not verdict.delivered
