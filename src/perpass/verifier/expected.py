"""Which test ids a delivery must pass: the task's FAIL_TO_PASS + PASS_TO_PASS lists when it gives
them (SWE-bench convention), else every test found in the hidden test files by `ast`.

Ids are pytest node ids relative to the task's tests/ folder (`test_x.py::TestA::test_b`).
Parametrized cases collapse to their base id: `test_b` passes when every case that ran passed.
Tests the author marked skip or xfail are not required (they cannot pass)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from perpass.tasks.model import Task, task_files

TEST_FILE_GLOBS = ("test_*.py", "*_test.py")


@dataclass(frozen=True)
class ExpectedTests:
    ids: tuple[str, ...]
    source: Literal["task.toml", "hidden tests"]


def base_id(nodeid: str) -> str:
    return nodeid.split("[", 1)[0]


def expected_tests(task: Task) -> ExpectedTests:
    if task.fail_to_pass or task.pass_to_pass:
        return ExpectedTests(tuple(dict.fromkeys((*task.fail_to_pass, *task.pass_to_pass))), "task.toml")
    ids: list[str] = []
    for path in task_files(task.tests):
        if any(path.match(glob) for glob in TEST_FILE_GLOBS):
            ids += test_ids_in(path, path.relative_to(task.tests).as_posix())
    return ExpectedTests(tuple(ids), "hidden tests")


MARKED_OFF = ("mark.skip", "mark.xfail", "unittest.skip", "unittest.expectedFailure")


def marked_off(decorators: list[ast.expr]) -> bool:
    """@pytest.mark.skip / skipif / xfail, @unittest.skip / skipIf / expectedFailure: a test the author does
    not expect to pass."""
    return any(word in ast.unparse(d) for d in decorators for word in MARKED_OFF)


def is_test_case(node: ast.ClassDef) -> bool:
    """A unittest.TestCase subclass, which pytest collects whatever its name (Exercism's `ChangeTest`)."""
    return any(ast.unparse(base).split(".")[-1] == "TestCase" for base in node.bases)


def test_ids_in(path: Path, rel: str) -> list[str]:
    tree = ast.parse(path.read_bytes(), filename=str(path))
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        marks_module = any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets)
        if marks_module and any(word in ast.unparse(node.value) for word in ("mark.skip", "mark.xfail")):
            return []
    return list(collect(tree.body, rel))


def collect(body: list[ast.stmt], prefix: str):  # type: ignore[no-untyped-def]
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            if not marked_off(node.decorator_list):
                yield f"{prefix}::{node.name}"
        elif isinstance(node, ast.ClassDef) and (node.name.startswith("Test") or is_test_case(node)) \
                and not marked_off(node.decorator_list):
            has_init = any(isinstance(n, ast.FunctionDef) and n.name == "__init__" for n in node.body)
            if not has_init:  # pytest does not collect a test class with __init__
                yield from collect(node.body, f"{prefix}::{node.name}")
