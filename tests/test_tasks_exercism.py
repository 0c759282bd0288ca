"""Exercism practice exercises (written here in the python track's layout) become perpass tasks: tests
visible as Exercism shows them or held back, unittest tests judged per test by the hardened verifier,
skips with the reason, and the solvability lint on a message only the tests state."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import PERPASS_CMD
from tasks_helpers import write_files

from perpass.runs.importing import import_tasks
from perpass.runs.task_check import check_task_detail
from perpass.sandbox import SandboxBackend, open_backend
from perpass.tasks import load_task
from perpass.tasks.importers import ImportOptions

# Exercism's python track, in miniature: unittest classes named <Exercise>Test, an error message the
# instruction does not give (the `change` exercise's "target can't be negative" problem).
STUB = "def find_fewest_coins(coins, target):\n    pass\n"
EXAMPLE = '''def find_fewest_coins(coins, target):
    if target < 0:
        raise ValueError("target can't be negative")
    best = {0: []}
    for amount in range(1, target + 1):
        options = [best[amount - c] + [c] for c in coins if c <= amount and amount - c in best]
        if options:
            best[amount] = sorted(min(options, key=len))
    if target not in best:
        raise ValueError("can't make target with given coins")
    return best[target]
'''
TESTS = '''import unittest

from change import (
    find_fewest_coins,
)


class ChangeTest(unittest.TestCase):
    def test_single_coin_change(self):
        self.assertEqual(find_fewest_coins([1, 5, 10, 25, 100], 25), [25])

    def test_lilliputian_coins(self):
        self.assertEqual(find_fewest_coins([1, 4, 15, 20, 50], 23), [4, 4, 15])

    def test_cannot_find_negative_change_values(self):
        with self.assertRaises(ValueError) as err:
            find_fewest_coins([1, 2, 5], -5)
        self.assertEqual(err.exception.args[0], "target can't be negative")
'''
CONFIG = {"files": {"solution": ["change.py"], "test": ["change_test.py"], "example": [".meta/example.py"]}}


def write_exercise(root: Path, slug: str = "change", stub: str = STUB, tests: str = TESTS) -> None:
    module = slug.replace("-", "_")
    config = {"files": {"solution": [f"{module}.py"], "test": [f"{module}_test.py"],
                        "example": [".meta/example.py"]}}
    write_files(root / "exercises" / "practice" / slug, {
        ".meta/config.json": json.dumps(config if slug != "change" else CONFIG),
        ".meta/example.py": EXAMPLE if slug == "change" else stub,
        ".docs/instructions.md": "# Change\n\nFind the fewest coins that make the target.\n",
        ".docs/instructions.append.md": "# Instructions append\n\nRaise ValueError for impossible targets.\n",
        f"{module}.py": stub, f"{module}_test.py": tests})


@pytest.fixture(scope="module")
def backend() -> SandboxBackend:
    return open_backend()


def test_an_exercise_becomes_a_task_with_visible_tests(tmp_path: Path, backend: SandboxBackend) -> None:
    write_exercise(tmp_path / "track")
    report = import_tasks("exercism", tmp_path / "track", tmp_path / "out", ImportOptions(), backend)
    assert [p.name for p in report.written] == ["ex-change"] and report.skipped == []
    task = load_task(tmp_path / "out" / "ex-change")
    assert sorted(p.name for p in task.repo.iterdir()) == ["change.py", "change_test.py"]  # as Exercism shows
    assert "Find the fewest coins" in task.instruction and "Raise ValueError" in task.instruction
    checked = check_task_detail(task, backend, tmp_path)
    assert checked.oracle_pass and checked.unchanged_fails, checked.problem
    assert (checked.fail_to_pass, checked.pass_to_pass) == (3, 0)
    assert checked.unstated == []  # the message is in the visible test file


def test_hidden_tests_and_the_solvability_lint(tmp_path: Path, backend: SandboxBackend) -> None:
    write_exercise(tmp_path / "track")
    import_tasks("exercism", tmp_path / "track", tmp_path / "out", ImportOptions(hide_tests=True), backend)
    task = load_task(tmp_path / "out" / "ex-change")
    assert [p.name for p in task.repo.iterdir()] == ["change.py"]
    checked = check_task_detail(task, backend, tmp_path)
    assert checked.ok, checked.problem
    assert checked.unstated == ["target can't be negative"]


def test_exercises_that_cannot_be_fair_tasks_are_skipped_with_the_reason(tmp_path: Path) -> None:
    write_exercise(tmp_path / "track")
    passing = "def double(x):\n    return 2 * x\n"
    write_exercise(tmp_path / "track", "already-done", stub=passing, tests=(
        "import unittest\nfrom already_done import double\n\n\nclass DoubleTest(unittest.TestCase):\n"
        "    def test_double(self):\n        self.assertEqual(double(2), 4)\n"))
    write_exercise(tmp_path / "track", "needs-numpy", tests=(
        "import numpy\nfrom needs_numpy import find_fewest_coins\n\n\ndef test_x():\n    assert numpy\n"))
    done = subprocess.run([*PERPASS_CMD, "tasks", "import", "exercism", str(tmp_path / "track"),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "skipped ex-already-done: the stub already passes the tests" in done.stdout
    assert "skipped needs-numpy: needs_numpy_test.py imports numpy, which is not available" in done.stdout
    assert "wrote 1 tasks" in done.stdout and "[2/2] ex-change: ok" in done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ex-change"]
