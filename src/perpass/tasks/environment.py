"""A task's Python dependencies: what it declares, and the cached venv that holds them.

A task declares requirements in task.toml (`python_deps = ["six==1.16.0"]`), in its repository's
requirements.txt, or in its repository's pyproject.toml ([project] dependencies); a Harbor task in its
Dockerfile's `pip install`. perpass installs them with pytest into one venv per distinct set (keyed by the
set's hash, perpass.sandbox.task_python.task_env), which the sandbox mounts read-only in place of the
default task Python. A set that cannot be installed is a UserError when the tasks are loaded for a plan or
checked, never an infra stop in the middle of a run.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NoReturn

from packaging.requirements import InvalidRequirement, Requirement

from perpass.errors import UserError
from perpass.sandbox.task_python import task_env
from perpass.tasks.model import Task


def parse_requirement(text: str, fail: Callable[[str], NoReturn]) -> str:
    """A PEP 508 requirement naming a package on the index: no URL or path (pip runs on the host)."""
    try:
        requirement = Requirement(text.strip())
    except InvalidRequirement as err:
        fail(f"'{text}' is not a Python requirement like 'six==1.16.0': {str(err).splitlines()[0]}")
    if requirement.url:
        fail(f"'{text}' installs from a URL or path; name a package on the index instead")
    return str(requirement)


def requirements_file(path: Path) -> list[str]:
    """The requirements of a plain requirements.txt: one per line, comments and blank lines skipped; pip
    options (-r, -e, --index-url, ...) are refused, so the set is exactly what the file lists."""
    found = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue

        def fail(problem: str, number: int = number) -> NoReturn:
            raise UserError(f"{path}:{number}: {problem}")

        if line.startswith("-"):
            fail(f"pip option '{line.split()[0]}' is not supported; list packages only, one per line")
        found.append(parse_requirement(line, fail))
    return found


def pyproject_requirements(path: Path) -> list[str]:
    try:
        data = tomllib.loads(path.read_text(errors="replace"))
    except tomllib.TOMLDecodeError as err:
        raise UserError(f"{path}: malformed TOML: {err}") from None
    listed = data.get("project", {}).get("dependencies", [])
    if not isinstance(listed, list) or not all(isinstance(item, str) for item in listed):
        raise UserError(f"{path}: [project] dependencies must be a list of strings")

    def fail(problem: str) -> NoReturn:
        raise UserError(f"{path}: [project] dependencies: {problem}")

    return [parse_requirement(item, fail) for item in listed]


def repo_requirements(repo: Path) -> list[str]:
    found: list[str] = []
    if (repo / "requirements.txt").is_file():
        found += requirements_file(repo / "requirements.txt")
    if (repo / "pyproject.toml").is_file():
        found += pyproject_requirements(repo / "pyproject.toml")
    return found


def task_venv(task: Task) -> Path | None:
    """The venv of a task with dependencies (built on first use), None for the default task Python."""
    if not task.requirements:
        return None
    try:
        return task_env(task.requirements)
    except (OSError, RuntimeError) as err:
        reason = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__  # pip's ERROR line
        raise UserError(f"{task.root}: the task's Python dependencies ({', '.join(task.requirements)}) "
                        f"cannot be installed: {reason}") from None


def prepare_environments(tasks: Iterable[Task]) -> None:
    """Build (or find cached) every dependency venv the tasks need, before anything runs."""
    for task in tasks:
        task_venv(task)
