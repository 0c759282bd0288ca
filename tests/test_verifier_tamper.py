"""The tamper battery (issue 11): every trick, pushed without the fix, ends `passed: false` with a
reason and never as infra; pushed on top of the real fix, it passes unless the trick is itself
tampering or breaks any solution (then it fails that one too, with a reason).

Runs through the Session protocol with the test-only HostSession; set the `session_factory`
fixture to the bwrap session to run the same battery in the sandbox."""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections import Counter
from pathlib import Path

import pytest
from verifier_helpers import new_session, push, start_repo, tree_tar
from verifier_tricks import BOMB_BYTES, TRICKS, Trick, fix

from perpass.tasks import select_tasks
from perpass.verifier import Verdict, verify_delivery

TASKS = {task.id: task for task in select_tasks(None, None, ["t1-off-by-one-range", "t0-smoke-hello"])}


def verdict_for(trick: Trick, fixed: bool, tmp_path: Path) -> Verdict:
    task = TASKS[trick.task]
    if trick.timeout_s:
        task = dataclasses.replace(task, verify_timeout_s=trick.timeout_s)
    work = start_repo(task.repo, tmp_path / "work")
    if fixed:
        fix(task.id, work)
    delivery = trick.apply(work)
    if delivery is None:
        delivery = push(work) if task.delivery == "push" else tree_tar(work)
    session, layout = new_session(tmp_path / "session")
    try:
        return verify_delivery(task, delivery, session, layout=layout)
    finally:
        session.close()


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
    assert verdict_for(nothing, False, tmp_path / "a").reason == "tests_failed"
    verdict = verdict_for(nothing, True, tmp_path / "b")
    assert verdict.passed and verdict.reason == "passed" and verdict.evidence == []
    assert [t.outcome for t in verdict.tests] == ["passed", "passed"]


def test_checkout_bomb_is_refused_in_seconds_without_writing(tmp_path: Path) -> None:
    bomb = next(t for t in TRICKS if t.name == "checkout-bomb")
    task = TASKS[bomb.task]
    work = start_repo(task.repo, tmp_path / "work")
    delivery = bomb.apply(work)
    assert len(delivery.data) < 8 * 1024 * 1024, "the push itself is a few MB"
    session, layout = new_session(tmp_path / "session")
    free_before = shutil.disk_usage(tmp_path).free
    started = time.perf_counter()
    verdict = verify_delivery(task, delivery, session, layout=layout)
    elapsed = time.perf_counter() - started
    free_after = shutil.disk_usage(tmp_path).free
    session.close()
    assert verdict.reason == "oversized" and "bytes" in verdict.detail
    assert elapsed < 30
    assert free_before - free_after < BOMB_BYTES // 16, "the materialiser refused before writing"


def test_traversal_members_never_land_outside(tmp_path: Path) -> None:
    trick = next(t for t in TRICKS if t.name == "ws-path-traversal")
    verdict_for(trick, True, tmp_path)
    assert not Path("/tmp/perpass-abs-escape.txt").exists()
    assert not list(tmp_path.rglob("perpass-escape.txt"))
