"""The verifier on real deliveries: a real session stands in for the agent (real bwrap, git, push), then
the delivery is read out of it and verified in a session of its own with the task's hidden tests."""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import pytest
from sandbox_helpers import tar_of
from tasks_helpers import GOOD_TOML, write_task

from perpass.sandbox import Limits, SessionSpec, open_backend, prepare_seed
from perpass.tasks import Task, load_task, verify
from perpass.tasks.verifier import Delivered, collect_delivery, unchanged_delivery

FIX = "sed -i 's/return 41/return 42/' answer.py"
COMMIT = "git add -A && git commit -qm fix"
PUSH = "git push -q origin HEAD:main"


def deliver(task: Task, *commands: str) -> Delivered:
    """Run the agent's commands in a session started from the task's seed; return what it delivered."""
    spec = SessionSpec(Limits(), seed=prepare_seed(task.repo, task.content_hash))
    with open_backend().start(spec) as session:
        for command in commands:
            result = session.run(command, 30)
            assert result.exit_code == 0, (command, result.output)
        return collect_delivery(task, session)


@pytest.fixture
def push_task(tmp_path: Path) -> Task:
    return load_task(write_task(tmp_path / "task"))


def workspace_task(tmp_path: Path, extra: str = "") -> Task:
    return load_task(write_task(tmp_path / "wtask", toml=GOOD_TOML + 'delivery = "workspace"\n' + extra))


def test_nothing_pushed_fails_on_initial_state(push_task: Task) -> None:
    verdict = verify(push_task, deliver(push_task), open_backend())
    assert not verdict.passed and not verdict.delivered
    assert "assert 41 == 42" in verdict.output
    assert 0 < verdict.tests_s <= verdict.wall_s


def test_push_to_main_passes(push_task: Task) -> None:
    verdict = verify(push_task, deliver(push_task, FIX, COMMIT, PUSH), open_backend())
    assert verdict.passed and verdict.delivered, verdict.output
    assert "1 passed" in verdict.output


def test_push_to_another_branch_does_not_pass(push_task: Task) -> None:
    delivered = deliver(push_task, FIX, COMMIT, "git push -q origin HEAD:feature")
    assert not verify(push_task, delivered, open_backend()).passed


def test_uncommitted_or_unpushed_work_does_not_count_for_push(push_task: Task) -> None:
    assert not verify(push_task, deliver(push_task, FIX), open_backend()).passed
    assert not verify(push_task, deliver(push_task, FIX, COMMIT), open_backend()).passed


def test_deleted_main_verifies_the_initial_state(push_task: Task) -> None:
    verdict = verify(push_task, deliver(push_task, "git push -q origin :main || git --git-dir=/remote.git "
                                        "update-ref -d refs/heads/main"), open_backend())
    assert not verdict.passed and not verdict.delivered and "assert 41 == 42" in verdict.output


def test_planted_hidden_dir_is_replaced(push_task: Task) -> None:
    """An agent that pushes its own tests_hidden/ (with a conftest skipping everything) gains nothing."""
    conftest = ("import pytest\n\n\ndef pytest_collection_modifyitems(items):\n"
                "    for item in items:\n        item.add_marker(pytest.mark.skip)\n")
    plant = (f"mkdir tests_hidden && printf %s {shlex.quote(conftest)} > tests_hidden/conftest.py && "
             "printf 'def test_answer():\\n    pass\\n' > tests_hidden/test_hidden_answer.py")
    verdict = verify(push_task, deliver(push_task, plant, COMMIT, PUSH), open_backend())
    assert verdict.delivered and not verdict.passed, verdict.output


def test_workspace_delivery_checks_the_working_copy(tmp_path: Path) -> None:
    task = workspace_task(tmp_path)
    assert not verify(task, deliver(task), open_backend()).passed
    delivered = deliver(task, FIX)  # not committed, not pushed: the working copy as left is what counts
    verdict = verify(task, delivered, open_backend())
    assert verdict.passed, verdict.output


def test_workspace_delivery_skips_fifos_keeps_links_as_links(tmp_path: Path) -> None:
    secret = tmp_path / "host-secret.txt"
    secret.write_text("host only")
    toml = 'test_command = "python -m pytest -q tests_hidden tests"\n'
    task = workspace_task(tmp_path, toml)
    leak_test = ("from pathlib import Path\n\n\ndef test_leak():\n"
                 "    assert Path('leak.txt').read_text() == 'host only'\n")
    delivered = deliver(task, FIX, "mkfifo pipe", f"ln -s {secret} leak.txt",
                        f"mkdir tests && printf %s {shlex.quote(leak_test)} > tests/test_leak.py")
    verdict = verify(task, delivered, open_backend())
    assert not verdict.passed and "1 passed" in verdict.output, verdict.output  # only the hidden one


def test_hidden_tests_timeout_fails(tmp_path: Path) -> None:
    task = workspace_task(tmp_path, 'verify_timeout_s = 1\ntest_command = "sleep 30"\n')
    started = time.perf_counter()
    verdict = verify(task, unchanged_delivery(task), open_backend())
    assert not verdict.passed and "timed out" in verdict.output and verdict.reason == "timeout"
    assert time.perf_counter() - started < 10


def test_garbage_delivery_is_a_fail_not_infra(push_task: Task) -> None:
    for data in (b"not a tar at all", tar_of({"objects/xx": b"garbage"})):
        verdict = verify(push_task, Delivered("push", data), open_backend())
        assert not verdict.passed


@pytest.mark.parametrize(("name", "text"), [
    ("pytest.py", "import sys\nsys.exit(0)\n"),  # shadows pytest when the repository is first on sys.path
    ("conftest.py", "import pytest\n\n\ndef pytest_collection_modifyitems(items):\n"
                    "    for item in items:\n        item.add_marker(pytest.mark.skip)\n"),
    ("pytest.ini", "[pytest]\naddopts = -k nothing_matches\n"),
    ("pyproject.toml", "[tool.pytest.ini_options]\naddopts = '--co'\n"),
])
def test_planted_test_config_does_not_pass(name: str, text: str, push_task: Task) -> None:
    delivered = deliver(push_task, f"printf %s {shlex.quote(text)} > {name}", COMMIT, PUSH)
    verdict = verify(push_task, delivered, open_backend())
    assert verdict.delivered and not verdict.passed, verdict.output
