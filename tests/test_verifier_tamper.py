"""The tamper battery (issue 11) through the product path on real bwrap sessions: each trick is delivered
as an agent would deliver it (committed and pushed inside a real agent session, or written into its
remote by hand), read out with `collect_delivery` and judged by `perpass.verifier.sandboxed.verify` in a
fresh verifier session. Pushed without the fix, every trick ends `passed: false` with a reason, never
infra; pushed on top of the real fix, it passes unless the trick is itself tampering or breaks any
solution (then it fails that one too, with a reason)."""

from __future__ import annotations

import dataclasses
import os
import time
from collections import Counter
from pathlib import Path

import pytest
from verifier_helpers import RawObjects, backend, copy_repo, deliver, push_objects
from verifier_tricks import BOMB_BYTES, TRICKS, Trick, fix

from perpass.tasks import Task, select_tasks
from perpass.verifier import Delivery, Verdict, VerifierLimits
from perpass.verifier.sandboxed import session_limits, verify

TASKS = {task.id: task for task in select_tasks(None, None, ["t1-off-by-one-range", "t0-smoke-hello"])}


def task_for(trick: Trick) -> Task:
    task = TASKS[trick.task]
    return dataclasses.replace(task, verify_timeout_s=trick.timeout_s) if trick.timeout_s else task


def delivery_for(trick: Trick, fixed: bool, tmp_path: Path) -> Delivery:
    task = task_for(trick)
    work = copy_repo(task.repo, tmp_path / "work")
    if fixed:
        fix(task.id, work)
    made = trick.apply(work)
    if isinstance(made, Delivery):  # tar members no session export holds: the bytes themselves
        return made
    if isinstance(made, RawObjects):
        return push_objects(task, made)
    return deliver(task, work, trick.commands)


def verdict_for(trick: Trick, fixed: bool, tmp_path: Path) -> Verdict:
    return verify(task_for(trick), delivery_for(trick, fixed, tmp_path), backend())


def test_battery_is_big_and_covers_every_class() -> None:
    classes = Counter(trick.cls for trick in TRICKS)
    assert len(TRICKS) >= 35
    assert set(classes) == {"shadowing", "runner", "detection", "not-counting", "isolation", "workspace"}
    assert len({trick.name for trick in TRICKS}) == len(TRICKS)


@pytest.mark.parametrize("fixed", [False, True], ids=["without-fix", "with-fix"])
@pytest.mark.parametrize("trick", TRICKS, ids=[t.name for t in TRICKS])
def test_trick(trick: Trick, fixed: bool, tmp_path: Path) -> None:
    verdict = verdict_for(trick, fixed, tmp_path)
    expected = trick.with_fix if fixed else trick.without_fix
    assert verdict.reason in expected, (verdict.reason, verdict.detail, verdict.evidence, verdict.output[-2000:])
    assert verdict.passed == (verdict.reason == "passed")


def test_fix_alone_passes_and_bug_alone_fails(tmp_path: Path) -> None:
    """The control: no trick at all."""
    nothing = Trick("nothing", "control", lambda work: None, frozenset({"tests_failed"}), frozenset({"passed"}))
    verdict = verdict_for(nothing, False, tmp_path / "a")
    assert verdict.reason == "tests_failed" and not verdict.delivered
    verdict = verdict_for(nothing, True, tmp_path / "b")
    assert verdict.passed and verdict.reason == "passed" and verdict.evidence == [] and verdict.delivered
    assert [t.outcome for t in verdict.tests] == ["passed", "passed"]


def free_bytes() -> dict[str, int]:
    """Free bytes of every host filesystem a regressed verifier could write the checkout to."""
    return {path: os.statvfs(path).f_bavail * os.statvfs(path).f_frsize for path in ("/", "/tmp", "/var")}


def test_checkout_bomb_is_refused_in_seconds_without_writing(tmp_path: Path) -> None:
    bomb = next(t for t in TRICKS if t.name == "checkout-bomb")
    delivery = delivery_for(bomb, False, tmp_path)
    assert len(delivery.data) < 8 * 1024 * 1024, "the push itself is a few MB"
    before = free_bytes()
    started = time.perf_counter()
    verdict = verify(TASKS[bomb.task], delivery, backend())
    elapsed = time.perf_counter() - started
    after = free_bytes()
    assert verdict.reason == "oversized" and "bytes" in verdict.detail, verdict.detail
    assert elapsed < 30
    quota = session_limits(VerifierLimits()).quota_bytes
    assert quota < 2 * BOMB_BYTES, "the quota must be smaller than the bomb for this test to mean anything"
    for path, free in before.items():
        assert free - after[path] < quota, f"{path} lost {free - after[path]} bytes"


def test_traversal_members_never_land_outside(tmp_path: Path) -> None:
    trick = next(t for t in TRICKS if t.name == "ws-path-traversal")
    assert verdict_for(trick, True, tmp_path).passed
    assert not Path("/tmp/perpass-abs-escape.txt").exists()
    assert not list(tmp_path.rglob("perpass-escape.txt"))
