"""The verifier on real workspaces: real git remotes, real bubblewrap, the task's hidden tests."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from tasks_helpers import GOOD_TOML, write_task

from perpass.sandbox import Sandbox, Workspace, create_workspace
from perpass.sandbox.workspace import run_git
from perpass.tasks import Task, load_task, verify


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox()


def fix_answer(workspace: Workspace) -> None:
    path = workspace.work / "answer.py"
    path.write_text(path.read_text().replace("return 41", "return 42"))


def git(workspace: Workspace, *args: str) -> None:
    # Host-side git standing in for the agent; origin is /remote.git inside the sandbox, so push by path.
    done = run_git(list(args), workspace.work)
    assert done.returncode == 0, done.stderr


def commit(workspace: Workspace) -> None:
    git(workspace, "add", "-A")
    git(workspace, "commit", "-qm", "fix")


@pytest.fixture
def push_task(tmp_path: Path) -> Task:
    return load_task(write_task(tmp_path / "task"))


def test_nothing_pushed_fails_on_initial_state(push_task: Task, sandbox: Sandbox, tmp_path: Path) -> None:
    workspace = create_workspace(push_task.repo, tmp_path / "ep")
    verdict = verify(push_task, workspace, sandbox)
    assert not verdict.passed and not verdict.delivered
    assert "assert 41 == 42" in verdict.output
    assert 0 < verdict.tests_s <= verdict.wall_s
    assert [p.name for p in (tmp_path / "ep").iterdir() if p.name.startswith("verify-")] == []


def test_push_to_main_passes(push_task: Task, sandbox: Sandbox, tmp_path: Path) -> None:
    workspace = create_workspace(push_task.repo, tmp_path / "ep")
    fix_answer(workspace)
    commit(workspace)
    git(workspace, "push", "-q", str(workspace.remote), "HEAD:main")
    verdict = verify(push_task, workspace, sandbox)
    assert verdict.passed and verdict.delivered, verdict.output
    assert "1 passed" in verdict.output


def test_push_to_another_branch_does_not_pass(push_task: Task, sandbox: Sandbox, tmp_path: Path) -> None:
    workspace = create_workspace(push_task.repo, tmp_path / "ep")
    fix_answer(workspace)
    commit(workspace)
    git(workspace, "push", "-q", str(workspace.remote), "HEAD:feature")
    assert not verify(push_task, workspace, sandbox).passed


def test_uncommitted_work_does_not_count_for_push(push_task: Task, sandbox: Sandbox, tmp_path: Path) -> None:
    workspace = create_workspace(push_task.repo, tmp_path / "ep")
    fix_answer(workspace)
    assert not verify(push_task, workspace, sandbox).passed
    commit(workspace)  # committed but not pushed: still nothing delivered
    assert not verify(push_task, workspace, sandbox).passed


def test_planted_hidden_dir_is_replaced(push_task: Task, sandbox: Sandbox, tmp_path: Path) -> None:
    """An agent that pushes its own tests_hidden/ (with a conftest skipping everything) gains nothing."""
    workspace = create_workspace(push_task.repo, tmp_path / "ep")
    planted = workspace.work / "tests_hidden"
    planted.mkdir()
    (planted / "conftest.py").write_text(
        "import pytest\n\n\ndef pytest_collection_modifyitems(items):\n"
        "    for item in items:\n        item.add_marker(pytest.mark.skip)\n")
    (planted / "test_hidden_answer.py").write_text("def test_answer():\n    pass\n")
    commit(workspace)
    git(workspace, "push", "-q", str(workspace.remote), "HEAD:main")
    verdict = verify(push_task, workspace, sandbox)
    assert verdict.delivered and not verdict.passed, verdict.output


def test_workspace_delivery_checks_the_working_copy(tmp_path: Path, sandbox: Sandbox) -> None:
    task = load_task(write_task(tmp_path / "task", toml=GOOD_TOML + 'delivery = "workspace"\n'))
    workspace = create_workspace(task.repo, tmp_path / "ep")
    assert not verify(task, workspace, sandbox).passed
    fix_answer(workspace)  # not committed, not pushed: the working copy as left is what counts
    verdict = verify(task, workspace, sandbox)
    assert verdict.passed, verdict.output
    names = {p.name for p in workspace.work.iterdir()}
    assert "tests_hidden" not in names, "hidden tests stay out of the workspace"


def test_workspace_copy_skips_fifos_and_keeps_links_as_links(tmp_path: Path, sandbox: Sandbox) -> None:
    task = load_task(write_task(tmp_path / "task", toml=GOOD_TOML + 'delivery = "workspace"\n'))
    workspace = create_workspace(task.repo, tmp_path / "ep")
    fix_answer(workspace)
    os.mkfifo(workspace.work / "pipe")  # copying it by reading would block the verifier forever
    secret = tmp_path / "host-secret.txt"
    secret.write_text("host only")
    (workspace.work / "leak.txt").symlink_to(secret)
    (workspace.work / "tests").mkdir()
    (workspace.work / "tests" / "test_leak.py").write_text(
        "from pathlib import Path\n\n\ndef test_leak():\n"
        "    assert Path('leak.txt').read_text() == 'host only'\n")
    toml = GOOD_TOML + 'delivery = "workspace"\ntest_command = "python -m pytest -q tests_hidden tests"\n'
    leak_task = load_task(write_task(tmp_path / "task2", toml=toml))
    verdict = verify(leak_task, workspace, sandbox)
    assert not verdict.passed and "1 passed" in verdict.output, verdict.output  # only the hidden one


def test_hidden_tests_timeout_fails(tmp_path: Path, sandbox: Sandbox) -> None:
    toml = GOOD_TOML + 'delivery = "workspace"\nverify_timeout_s = 1\ntest_command = "sleep 30"\n'
    task = load_task(write_task(tmp_path / "task", toml=toml))
    started = time.perf_counter()
    verdict = verify(task, create_workspace(task.repo, tmp_path / "ep"), sandbox)
    assert not verdict.passed and "timed out" in verdict.output
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize(("name", "text"), [
    ("pytest.py", "import sys\nsys.exit(0)\n"),  # shadows pytest when the repository is first on sys.path
    ("conftest.py", "import pytest\n\n\ndef pytest_collection_modifyitems(items):\n"
                    "    for item in items:\n        item.add_marker(pytest.mark.skip)\n"),
    ("pytest.ini", "[pytest]\naddopts = -k nothing_matches\n"),
    ("pyproject.toml", "[tool.pytest.ini_options]\naddopts = '--co'\n"),
])
def test_planted_test_config_does_not_pass(name: str, text: str, push_task: Task, sandbox: Sandbox,
                                           tmp_path: Path) -> None:
    workspace = create_workspace(push_task.repo, tmp_path / "ep")
    (workspace.work / name).write_text(text)
    commit(workspace)
    git(workspace, "push", "-q", str(workspace.remote), "HEAD:main")
    verdict = verify(push_task, workspace, sandbox)
    assert verdict.delivered and not verdict.passed, verdict.output
