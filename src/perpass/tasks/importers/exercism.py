"""Exercism practice exercises (the python track; the same source as Aider's polyglot benchmark).

PATH is a track checkout or its exercises/practice folder; every folder with .meta/config.json is an
exercise. Its task: the instruction from .docs/instructions.md (+ instructions.append.md), the repository
from `files.solution` (the stubs) and `files.editor`, the hidden tests from `files.test`, the oracle writing
`files.example` (.meta/example.py) over the stub. The tests are visible to the agent as Exercism and Aider
show them (`visible_tests = true`) unless --hide-tests. Skipped, with the reason: no solution/test/example
files, tests importing a package that is neither the standard library, pytest nor the exercise's own
code, an example the oracle cannot carry, and (perpass.runs.importing) a stub that already passes.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path
from typing import ClassVar

from perpass.tasks.importers.base import ImportOptions, ImportReport
from perpass.tasks.model import FENCE

END = "PERPASS_EXAMPLE_END"
AVAILABLE = frozenset(sys.stdlib_module_names) | {"pytest"}


class Skip(Exception):
    """Why an exercise cannot become a task."""


def exercises_under(source: Path) -> list[Path]:
    practice = source / "exercises" / "practice"
    root = practice if practice.is_dir() else source
    if (root / ".meta" / "config.json").is_file():
        return [root]
    return sorted(p.parent.parent for p in root.glob("*/.meta/config.json"))


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(errors="replace"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def toml_text(text: str) -> str:
    return '"""\n' + text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"') + '\n"""'


class ExercismImporter:
    name: ClassVar[str] = "exercism"

    def convert(self, source: Path, out: Path, options: ImportOptions, report: ImportReport) -> None:
        for exercise in exercises_under(source):
            try:
                report.written.append(self.write(exercise, out / f"ex-{exercise.name}", options))
            except Skip as why:
                report.skipped.append((exercise.name, str(why)))

    def write(self, exercise: Path, dest: Path, options: ImportOptions) -> Path:
        try:
            files = json.loads((exercise / ".meta" / "config.json").read_text())["files"]
        except (ValueError, KeyError, TypeError) as err:
            raise Skip(f".meta/config.json has no files table ({err})") from None
        solution, tests, example = (files.get(k) or [] for k in ("solution", "test", "example"))
        if len(solution) != 1 or not tests or len(example) != 1:
            raise Skip("needs one solution file, test files and one example file in .meta/config.json")
        missing = [name for name in (*solution, *tests, *example) if not (exercise / name).is_file()]
        if missing:
            raise Skip(f"missing {', '.join(missing)}")
        if not re.match(r"^[a-z0-9][a-z0-9-]{0,75}$", exercise.name):
            raise Skip("the folder name is not a task id (lowercase letters, digits, dashes)")
        repo_files = [*solution, *(files.get("editor") or [])]
        own = {Path(name).stem for name in repo_files} | {p.stem for p in exercise.glob("*.py")}
        for test in tests:
            try:
                unavailable = sorted(imported_modules(exercise / test) - AVAILABLE - own)
            except SyntaxError as err:
                raise Skip(f"{test} does not parse: {err}") from None
            if unavailable:
                raise Skip(f"{test} imports {', '.join(unavailable)}, which is not available in the sandbox")
        example_text = (exercise / example[0]).read_text()
        if FENCE in example_text or END in example_text:
            raise Skip("the example contains ``` or the oracle's end marker")
        self.write_files(exercise, dest, repo_files, tests, solution[0], example_text, options)
        return dest

    def write_files(self, exercise: Path, dest: Path, repo_files: list[str], tests: list[str], solution: str,
                    example: str, options: ImportOptions) -> None:
        for folder, names in (("repo", repo_files), ("tests", tests)):
            for name in names:
                target = dest / folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes((exercise / name).read_bytes())
        (dest / "solution").mkdir(parents=True)
        (dest / "solution" / "solve.sh").write_text(
            f"set -e\ncat > {solution} <<'{END}'\n{example.rstrip()}\n{END}\n")
        (dest / "task.toml").write_text(
            f'id = "ex-{exercise.name}"\ntier = "T1"\ntime_limit_s = 600\n'
            f"visible_tests = {'false' if options.hide_tests else 'true'}\n"
            f"instruction = {toml_text(self.instruction(exercise, solution, tests, options))}\n")

    def instruction(self, exercise: Path, solution: str, tests: list[str], options: ImportOptions) -> str:
        docs = exercise / ".docs"
        parts = [p.read_text().strip() for p in (docs / "instructions.md", docs / "instructions.append.md")
                 if p.is_file()]
        where = f"Write your solution in {solution}"
        where += "." if options.hide_tests else f"; the tests in {', '.join(tests)} show what is expected."
        return "\n\n".join([*parts, where + " When you are done, commit your change and push it to origin main."])
