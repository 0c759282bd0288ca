"""The verifier on real deliveries: a real agent session (bwrap, git inside it, a push to its bare
remote) makes the delivery, `collect_delivery` reads it out as the agent loop does, and
`perpass.verifier.sandboxed.verify` judges it in a fresh session of its own. Then tasks with their own
`test_command`: the weaker exit-code method."""

from __future__ import annotations

import shlex
import tempfile
import time
from pathlib import Path

import pytest
from tasks_helpers import GOOD_TOML, write_task
from verifier_helpers import backend, deliver_by, file_tar

from perpass.tasks import Task, load_task
from perpass.verifier import Delivery, Verdict
from perpass.verifier.sandboxed import unchanged_delivery, verify

FIX = "sed -i 's/return 41/return 42/' answer.py"
COMMIT = "git add -A && git commit -qm fix"
PUSH = "git push -q origin HEAD:main"
HIDDEN_ID = "test_hidden_answer.py::test_answer"
PYTEST_COMMAND = 'test_command = "python -m pytest -q tests_hidden"\n'


def verdict_of(task: Task, *commands: str) -> Verdict:
    return verify(task, deliver_by(task, *commands), backend())


@pytest.fixture
def push_task(tmp_path: Path) -> Task:
    return load_task(write_task(tmp_path / "task"))


def workspace_task(tmp_path: Path, extra: str = "") -> Task:
    return load_task(write_task(tmp_path / "wtask", toml=GOOD_TOML + 'delivery = "workspace"\n' + extra))


def outcomes(verdict: Verdict) -> list[tuple[str, str]]:
    return [(t.nodeid, t.outcome) for t in verdict.tests]


def test_nothing_pushed_fails_on_initial_state(push_task: Task) -> None:
    verdict = verdict_of(push_task)
    assert (verdict.passed, verdict.reason, verdict.delivered) == (False, "tests_failed", False)
    assert verdict.method == "tests"
    assert outcomes(verdict) == [(HIDDEN_ID, "failed")] and "assert 41 == 42" in verdict.tests[0].message
    assert 0 < verdict.timings.tests_s <= verdict.timings.total_s


def test_push_to_main_passes(push_task: Task) -> None:
    verdict = verdict_of(push_task, FIX, COMMIT, PUSH)
    assert verdict.passed and verdict.reason == "passed" and verdict.delivered, verdict.detail
    assert outcomes(verdict) == [(HIDDEN_ID, "passed")] and verdict.evidence == []
    assert verdict.timings.materialise_s > 0 and verdict.timings.scan_s > 0


def test_push_to_another_branch_does_not_pass(push_task: Task) -> None:
    verdict = verdict_of(push_task, FIX, COMMIT, "git push -q origin HEAD:feature")
    assert (verdict.passed, verdict.reason, verdict.delivered) == (False, "tests_failed", False)


def test_uncommitted_or_unpushed_work_does_not_count_for_push(push_task: Task) -> None:
    for commands in ((FIX,), (FIX, COMMIT)):
        verdict = verdict_of(push_task, *commands)
        assert (verdict.passed, verdict.reason, verdict.delivered) == (False, "tests_failed", False), commands


def test_deleted_main_is_no_delivery(push_task: Task) -> None:
    verdict = verdict_of(push_task, "git push -q origin :main || git --git-dir=/remote.git update-ref -d "
                                    "refs/heads/main")
    assert (verdict.passed, verdict.reason, verdict.delivered) == (False, "no_delivery", False)


def test_planted_hidden_dir_is_replaced(push_task: Task) -> None:
    """An agent that pushes its own tests_hidden/ (with a conftest skipping everything) gains nothing:
    the hidden tests run from a folder of a random name, the planted one is just another folder."""
    conftest = ("import pytest\n\n\ndef pytest_collection_modifyitems(items):\n"
                "    for item in items:\n        item.add_marker(pytest.mark.skip)\n")
    plant = (f"mkdir tests_hidden && printf %s {shlex.quote(conftest)} > tests_hidden/conftest.py && "
             "printf 'def test_answer():\\n    pass\\n' > tests_hidden/test_hidden_answer.py")
    verdict = verdict_of(push_task, plant, COMMIT, PUSH)
    assert verdict.delivered and (verdict.passed, verdict.reason) == (False, "tests_failed"), verdict.detail
    assert outcomes(verdict) == [(HIDDEN_ID, "failed")]
    assert any(e.kind == "dropped" and e.where == "tests_hidden/conftest.py" for e in verdict.evidence)


def test_workspace_delivery_checks_the_working_copy(tmp_path: Path) -> None:
    task = workspace_task(tmp_path)
    assert verdict_of(task).reason == "tests_failed"
    verdict = verdict_of(task, FIX)  # not committed, not pushed: the working copy as left is what counts
    assert verdict.passed and verdict.delivered, verdict.detail


def test_garbage_delivery_is_a_fail_not_infra(push_task: Task) -> None:
    sha = "a" * 40
    for data in (b"not a tar at all", file_tar({"objects/xx": b"garbage"})):
        verdict = verify(push_task, Delivery.push(data, sha), backend())
        assert (verdict.passed, verdict.reason) == (False, "unreadable_tree"), verdict.detail


@pytest.mark.parametrize(("name", "text"), [
    ("pytest.py", "import sys\nsys.exit(0)\n"),  # would shadow pytest with the repository first on sys.path
    ("conftest.py", "import pytest\n\n\ndef pytest_collection_modifyitems(items):\n"
                    "    for item in items:\n        item.add_marker(pytest.mark.skip)\n"),
    ("pytest.ini", "[pytest]\naddopts = -k nothing_matches\n"),
    ("pyproject.toml", "[tool.pytest.ini_options]\naddopts = '--co'\n"),
])
def test_planted_test_config_does_not_pass(name: str, text: str, push_task: Task) -> None:
    verdict = verdict_of(push_task, f"printf %s {shlex.quote(text)} > {name}", COMMIT, PUSH)
    assert verdict.delivered and (verdict.passed, verdict.reason) == (False, "tests_failed"), verdict.detail
    assert outcomes(verdict) == [(HIDDEN_ID, "failed")]


# --- tasks with their own test_command: an exit-code verdict ---------------------------------------
def test_command_task_passes_on_exit_zero_and_says_what_it_checked(tmp_path: Path) -> None:
    task = load_task(write_task(tmp_path / "task", toml=GOOD_TOML + PYTEST_COMMAND))
    verdict = verdict_of(task, FIX, COMMIT, PUSH)
    assert (verdict.passed, verdict.reason, verdict.method, verdict.delivered) == (True, "passed", "command", True)
    assert "exit-code verdict" in verdict.detail and "without per-test records, sentinels" in verdict.detail
    assert verdict.tests == [] and "1 passed" in verdict.output  # the command's own output, for people


def test_command_task_fails_on_a_nonzero_exit(tmp_path: Path) -> None:
    task = load_task(write_task(tmp_path / "task", toml=GOOD_TOML + PYTEST_COMMAND))
    verdict = verdict_of(task)
    assert (verdict.passed, verdict.reason, verdict.method) == (False, "tests_failed", "command")
    assert "exited 1" in verdict.detail and "assert 41 == 42" in verdict.output


def test_command_task_with_hidden_tests_that_are_not_pytest(tmp_path: Path) -> None:
    """A shell script as the hidden test, run by the task's command from hidden_dir inside the checkout."""
    check = "set -e\npython -c 'from answer import answer; assert answer() == 42'\necho checked\n"
    task = load_task(write_task(tmp_path / "task", toml=GOOD_TOML + 'test_command = "bash tests_hidden/check.sh"\n',
                                hidden={"check.sh": check}))
    failed = verdict_of(task)
    assert (failed.passed, failed.reason) == (False, "tests_failed") and "AssertionError" in failed.output
    passed = verdict_of(task, FIX, COMMIT, PUSH)
    assert passed.passed and "checked" in passed.output, (passed.reason, passed.output)


def test_command_task_times_out_fast(tmp_path: Path) -> None:
    task = workspace_task(tmp_path, 'verify_timeout_s = 1\ntest_command = "sleep 30"\n')
    started = time.perf_counter()
    verdict = verify(task, unchanged_delivery(task), backend())
    assert (verdict.passed, verdict.reason, verdict.method) == (False, "timeout", "command"), verdict.detail
    assert time.perf_counter() - started < 10


def test_command_task_is_still_scanned(tmp_path: Path) -> None:
    task = load_task(write_task(tmp_path / "task", toml=GOOD_TOML + PYTEST_COMMAND))
    cheat = ("printf 'import os\\n\\n\\ndef answer():\\n    return 42 if os.environ.get(\"X\") is None else 0\\n'"
             " > answer.py")
    verdict = verdict_of(task, cheat, COMMIT, PUSH)
    assert (verdict.passed, verdict.reason) == (False, "suspicious") and "env" in verdict.detail


@pytest.mark.parametrize("plant", [
    "mkdir tests_hidden && printf 'def test_planted():\\n    assert False\\n' > tests_hidden/test_planted.py",
    "mkdir mine && printf 'def test_planted():\\n    assert False\\n' > mine/test_planted.py"
    " && ln -s mine tests_hidden",
    "printf 'not a folder\\n' > tests_hidden",
], ids=["folder", "link-to-folder", "file"])
def test_command_task_hidden_dir_replaces_what_the_delivery_put_there(plant: str, tmp_path: Path) -> None:
    """Whatever the delivery has at hidden_dir (a folder, a link to another folder, a file) is removed,
    never merged with or written through: its failing test would fail the fixed delivery otherwise."""
    task = load_task(write_task(tmp_path / "task", toml=GOOD_TOML + PYTEST_COMMAND))
    verdict = verdict_of(task, FIX, plant, COMMIT, PUSH)
    assert verdict.passed, (verdict.reason, verdict.detail, verdict.output)
    assert "1 passed" in verdict.output and "test_planted" not in verdict.output


HARDENED_COMMAND = ('test_command = \'python -P -m pytest -q -c /dev/null --rootdir=. --confcutdir=tests_hidden '
                    '-p no:cacheprovider -o pythonpath="$PWD" tests_hidden\'\n')


def test_command_task_is_only_as_strong_as_its_command(tmp_path: Path) -> None:
    """The exit-code method's documented weakness: a planted pytest.ini (an ordinary file, kept) with
    `--co` makes a plain pytest command exit 0 without running a test; a command that ignores the
    repository's ini files does not fall for it."""
    plant = "printf '[pytest]\\naddopts = --co\\n' > pytest.ini"
    naive = load_task(write_task(tmp_path / "naive", toml=GOOD_TOML + PYTEST_COMMAND))
    verdict = verdict_of(naive, plant, COMMIT, PUSH)
    assert verdict.passed and verdict.method == "command", (verdict.reason, verdict.output)
    assert "1 test collected" in verdict.output  # collected, never run
    hardened = load_task(write_task(tmp_path / "hardened", toml=GOOD_TOML + HARDENED_COMMAND))
    verdict = verdict_of(hardened, plant, COMMIT, PUSH)
    assert (verdict.passed, verdict.reason) == (False, "tests_failed"), verdict.output
    assert verdict_of(hardened, FIX, COMMIT, PUSH).passed


FIXED_ANSWER = "def answer() -> int:\n    return 42\n"


def test_command_task_cannot_pass_through_a_fifo_or_a_link_to_a_host_file(tmp_path: Path) -> None:
    """Workspace delivery, answer.py still buggy in the repository: replaced by a link to a host file
    holding the fix (readable by the sandbox user, so only the verifier's design keeps it out), or by
    a FIFO (reading it would block). Neither passes, neither hangs; the control, the same fix as a
    plain file, passes."""
    task = workspace_task(tmp_path, PYTEST_COMMAND)
    folder = Path(tempfile.mkdtemp(prefix="perpass-host-file-"))
    folder.chmod(0o755)
    host_file = folder / "answer.py"
    host_file.write_text(FIXED_ANSWER)
    host_file.chmod(0o644)
    try:
        for how in (f"ln -sf {host_file} answer.py", "rm answer.py && mkfifo answer.py"):
            started = time.perf_counter()
            verdict = verdict_of(task, how)
            assert (verdict.passed, verdict.reason) == (False, "tests_failed"), (how, verdict.detail)
            assert time.perf_counter() - started < 30
        assert any(e.kind == "dropped" and e.detail == "absolute symlink"
                   for e in verdict_of(task, f"ln -sf {host_file} answer.py").evidence)
        control = verdict_of(task, f"printf %s {shlex.quote(FIXED_ANSWER)} > answer.py")
        assert control.passed and control.method == "command", control.detail
    finally:
        host_file.unlink()
        folder.rmdir()


def test_python_path_folders_are_on_the_hidden_tests_path_only_inside_the_checkout(tmp_path: Path) -> None:
    """python_path = ["src"]: the hidden tests import answer from src/. A delivery that makes src/ a link
    out of the checkout (to the folder where the verifier keeps the hidden tests) gets nothing from it."""
    task = load_task(write_task(tmp_path / "src-task", toml=GOOD_TOML + 'python_path = ["src"]\n',
                                repo={"src/answer.py": "def answer() -> int:\n    return 41\n"}))
    assert verdict_of(task).reason == "tests_failed"
    fixed = verdict_of(task, "sed -i 's/return 41/return 42/' src/answer.py", COMMIT, PUSH)
    assert fixed.passed, fixed.detail
    escaped = verdict_of(task, "git rm -rq src && ln -s .. src && git add src", COMMIT, PUSH)
    assert not escaped.passed and "ModuleNotFoundError" in escaped.detail, escaped.detail
    assert any(e.kind == "dropped" and e.where == "src" for e in escaped.evidence)
