"""A task: a starting repository, an instruction, hidden tests and an oracle; loaded from task.toml.

The folder layout is documented in docs/tasks.md. Loading checks everything that can be checked
without running anything, so a bad task fails with one line naming the file and the problem.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import shutil
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal, NoReturn

from perpass.errors import UserError

TIERS = ("T0", "T1", "T2", "T3")
DELIVERIES = ("push", "workspace")
DEFAULT_HIDDEN_DIR = "tests_hidden"


# Byproducts of running Python in a task folder; they are not part of the task's content.
IGNORED_PARTS = frozenset({"__pycache__", ".pytest_cache"})
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
KNOWN_KEYS = frozenset({"id", "tier", "instruction", "time_limit_s", "test_command", "delivery",
                        "hidden_dir", "verify_timeout_s", "fail_to_pass", "pass_to_pass", "allow",
                        "python_deps", "visible_tests", "python_path"})
# Flag classes of the verifier's static scan and audit hook a task may allow (docs/verifier.md).
# The kit, which runs inside the sandbox without perpass, keeps the same list (FLAG_CLASSES in
# perpass/verifier/kit/perpass_kit/scan.py); a test checks the two agree.
ALLOW_CLASSES = ("stack", "argv", "env", "time", "verifier", "introspection", "hooks", "process", "dynamic",
                 "equality")
TEST_ID = re.compile(r"^[^\s:]+\.py(::[^\s:\[]+)+(\[.*\])?$")
# A fence inside the oracle would end the text-protocol block that carries it.
FENCE = "```"


@dataclass(frozen=True)
class FixedPaths:
    """Absolute paths a task's own scripts use (a Harbor task's /app, /tests and /logs), made as links
    inside the sandbox: `workspace` to the agent's working copy and to the verified checkout,
    `hidden_tests` to the hidden tests in that checkout, `logs` to a writable folder of the verifier's;
    `solution` is where the oracle (only the oracle) finds the solution folder read-only (Harbor's /solution)."""

    workspace: str | None = None
    hidden_tests: str | None = None
    logs: str | None = None
    solution: str | None = None


@dataclass(frozen=True)
class Task:
    id: str
    tier: str
    instruction: str
    root: Path
    repo: Path
    tests: Path
    solution: Path
    # None: the hardened per-test pytest run (docs/verifier.md). A command (task.toml `test_command`): the
    # weaker exit-code verification, run with bash in the checkout with the hidden tests at hidden_dir.
    test_command: str | None
    delivery: Literal["push", "workspace"]
    time_limit_s: float
    content_hash: str
    hidden_dir: str = DEFAULT_HIDDEN_DIR  # where tests/ is copied inside the verified checkout
    verify_timeout_s: float = 120.0  # the hidden tests' own time limit
    # SWE-bench convention: test ids (relative to tests/) that must pass; empty = every hidden test.
    fail_to_pass: tuple[str, ...] = ()
    pass_to_pass: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()  # verifier flag classes this task's solutions may legitimately use
    # Python requirements (PEP 508) the repository and its tests need: installed with pytest into a venv of
    # their own (one per distinct set, cached) that replaces the default task Python. See environment.py.
    requirements: tuple[str, ...] = ()
    fixed_paths: FixedPaths = FixedPaths()
    # Folders of the repository (relative, inside it) put on the import path of the agent's commands and of
    # the hidden tests, after the repository's top folder: ("src",) for a src-layout project.
    python_path: tuple[str, ...] = ()
    source: str = "perpass"  # the folder format it was read from (perpass.tasks.sources)

    @property
    def solve_script(self) -> Path | None:
        path = self.solution / "solve.sh"
        return path if path.is_file() else None

    @property
    def solution_patch(self) -> Path | None:
        patches = sorted(self.solution.glob("*.patch"))
        return patches[0] if patches else None


def task_files(folder: Path) -> list[Path]:
    """Every file of a task folder, sorted by relative path, byproducts left out."""
    files = [p for p in folder.rglob("*") if (p.is_file() or p.is_symlink())
             and not IGNORED_PARTS.intersection(p.relative_to(folder).parts)]
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def content_hash(folder: Path) -> str:
    """sha256 over the sorted relative paths and bytes of every file: any edit changes it."""
    digest = hashlib.sha256()
    for path in task_files(folder):
        rel = path.relative_to(folder).as_posix().encode()
        data = path.readlink().as_posix().encode() if path.is_symlink() else path.read_bytes()
        # Length prefixes keep ("ab", "c") and ("a", "bc") from hashing alike.
        digest.update(len(rel).to_bytes(8, "big") + rel + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def key_line(text: str, key: str) -> int | None:
    match = re.search(rf"^\s*{re.escape(key)}\s*=", text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else None


def load_task(folder: Path) -> Task:
    """Read `folder/task.toml` and check the folder; UserError (one line, file:line) when bad."""
    folder = Path(folder)
    toml_path = folder / "task.toml"
    if not toml_path.is_file():
        raise UserError(f"{toml_path}: file not found; a task folder needs task.toml (see docs/tasks.md)")
    text = toml_path.read_text(errors="replace")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        line = re.search(r"line (\d+)", str(err))
        where = f"{toml_path}:{line.group(1)}" if line else str(toml_path)
        raise UserError(f"{where}: malformed TOML: {str(err).split(' (at')[0]}") from None
    fields = TaskFields(toml_path, text, data)
    task_id = fields.id()
    tier = fields.tier()
    for sub in ("repo", "tests", "solution"):
        if not (folder / sub).is_dir():
            raise UserError(f"{folder / sub}: missing folder; a task needs repo/, tests/ and solution/")
    check_solution(folder / "solution")
    hidden_dir = fields.relative_dir("hidden_dir", DEFAULT_HIDDEN_DIR, folder / "repo")
    digest = content_hash(folder)
    repo = (folder / "repo").resolve()
    if fields.flag("visible_tests"):
        repo = repo_with_tests(repo, (folder / "tests").resolve(), digest)
    return Task(
        id=task_id, tier=tier, instruction=fields.text("instruction"), root=folder.resolve(),
        repo=repo, tests=(folder / "tests").resolve(),
        solution=(folder / "solution").resolve(),
        test_command=fields.text("test_command") if "test_command" in fields.data else None,
        delivery=fields.choice("delivery", DELIVERIES, "push"),  # type: ignore[arg-type]
        time_limit_s=fields.positive("time_limit_s", 600.0),
        content_hash=digest,
        hidden_dir=hidden_dir,
        verify_timeout_s=fields.positive("verify_timeout_s", 120.0),
        fail_to_pass=fields.test_ids("fail_to_pass", folder / "tests"),
        pass_to_pass=fields.test_ids("pass_to_pass", folder / "tests"),
        allow=fields.string_list("allow", ALLOW_CLASSES),
        requirements=declared_requirements(fields, folder / "repo"),
        python_path=fields.python_path(folder / "repo"),
    )


def declared_requirements(fields: TaskFields, repo: Path) -> tuple[str, ...]:
    """task.toml `python_deps`, then the repository's requirements.txt and pyproject.toml dependencies."""
    from perpass.tasks.environment import parse_requirement, repo_requirements

    listed = [parse_requirement(item, lambda problem: fields.fail("python_deps", problem))
              for item in fields.string_list("python_deps")]
    return tuple(dict.fromkeys([*listed, *repo_requirements(repo)]))


def repo_with_tests(repo: Path, tests: Path, digest: str) -> Path:
    """`visible_tests = true`: the agent's repository is repo/ with the hidden tests copied in at the same
    relative paths (as Exercism and Aider show them); the verifier still runs its own pristine tests/.
    Built once per task content in a temporary folder, renamed into place whole."""
    for path in task_files(tests):
        if (repo / path.relative_to(tests)).exists():
            raise UserError(f"{path}: visible_tests would overwrite {repo / path.relative_to(tests)}; "
                            "rename one of them")

    def merge(folder: Path) -> None:
        shutil.copytree(repo, folder, symlinks=True, dirs_exist_ok=True)
        shutil.copytree(tests, folder, symlinks=True, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*IGNORED_PARTS))

    return built_folder("perpass-visible-tests", digest, merge)


def built_folder(kind: str, digest: str, fill: Callable[[Path], None]) -> Path:
    """A folder made from a task's files (a repository assembled for the agent), built once per task content
    in a temporary folder and renamed into place whole, so a crash or a second process never sees half."""
    built = Path(tempfile.gettempdir()) / kind / digest
    if built.is_dir():
        return built
    built.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=built.parent))
    (scratch / "folder").mkdir()
    fill(scratch / "folder")
    try:
        (scratch / "folder").rename(built)
    except OSError:  # another process made it first: same content
        pass
    shutil.rmtree(scratch, ignore_errors=True)
    return built


def check_solution(solution: Path) -> None:
    script = solution / "solve.sh"
    patches = sorted(solution.glob("*.patch"))
    if not script.is_file() and not patches:
        raise UserError(f"{solution}: no oracle; add solve.sh (run in the repository) or a .patch file")
    for path in [script] if script.is_file() else patches[:1]:
        text = path.read_text(errors="replace")
        if FENCE in text:
            line = text.count("\n", 0, text.index(FENCE)) + 1
            raise UserError(f"{path}:{line}: the oracle may not contain ``` (it would end the reply's "
                            "code block); build the string another way")


class TaskFields:
    """Typed access to task.toml values; every error names the file and the key's line."""

    def __init__(self, path: Path, text: str, data: dict[str, Any]) -> None:
        self.path, self.source, self.data = path, text, data
        for key in data:
            if key not in KNOWN_KEYS:
                self.fail(key, f"unknown key '{key}'; known keys: {', '.join(sorted(KNOWN_KEYS))}")

    def fail(self, key: str, problem: str) -> NoReturn:
        line = key_line(self.source, key)
        raise UserError(f"{self.path}:{line}: {problem}" if line else f"{self.path}: {problem}")

    def text(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if value is None:
            self.fail(key, f"missing required key '{key}' (a string)")
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"'{key}' must be a non-empty string")
        return value.strip()

    def id(self) -> str:
        value = self.text("id")
        if not ID_PATTERN.match(value):
            self.fail("id", f"id '{value}' must be lowercase letters, digits and dashes, e.g. t1-off-by-one")
        return value

    def tier(self) -> str:
        value = self.text("tier")
        if value.upper() not in TIERS:
            self.fail("tier", f"unknown tier '{value}'; use one of {', '.join(TIERS)}")
        return value.upper()

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.text(key, default)
        if value not in choices:
            self.fail(key, f"{key} '{value}' is not one of {', '.join(choices)}")
        return value

    def flag(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            self.fail(key, f"'{key}' must be true or false, got {value!r}")
        return value

    def positive(self, key: str, default: float) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            self.fail(key, f"'{key}' must be a positive number of seconds, got {value!r}")
        return float(value)

    def relative_dir(self, key: str, default: str, base: Path) -> str:
        """A folder inside the checked repository: not absolute, not escaping it, not in .git
        (`./.git`, `a/../.git/x` and `.GIT` are all .git once resolved)."""
        return self.inside_repo(key, self.text(key, default), base)

    def inside_repo(self, key: str, value: str, base: Path) -> str:
        """`value` as a folder path inside the repository `base`, normalised; fails as relative_dir says."""
        parts = PurePosixPath(posixpath.normpath(value.replace("\\", "/"))).parts
        if value.startswith(("/", "\\")) or not parts or parts[0] in (".", "..") \
                or any(part.lower() == ".git" for part in parts):
            self.fail(key, f"'{key}' must be a folder inside the repository (not the repository itself, "
                           f"not outside it, not in .git), got {value!r}")
        resolved, root = (base / Path(*parts)).resolve(), base.resolve()
        if not resolved.is_relative_to(root) or resolved == root or ".git" in resolved.relative_to(root).parts:
            self.fail(key, f"'{key}' = {value!r} resolves (through a link in {base}) to {resolved}, "
                           "outside the repository or into .git")
        return "/".join(parts)

    def python_path(self, base: Path) -> tuple[str, ...]:
        """`python_path`: folders inside the repository; no ':' (it would split the PYTHONPATH entry)."""
        values = self.string_list("python_path")
        for value in values:
            if ":" in value:
                self.fail("python_path", f"'python_path' entries may not contain ':', got {value!r}")
        return tuple(self.inside_repo("python_path", value, base) for value in values)

    def string_list(self, key: str, choices: tuple[str, ...] | None = None) -> tuple[str, ...]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(key, f"'{key}' must be a list of strings, e.g. {key} = [\"...\"]")
        for item in value:
            if choices is not None and item not in choices:
                self.fail(key, f"unknown {key} entry '{item}'; use any of {', '.join(choices)}")
        return tuple(v.strip() for v in value)

    def test_ids(self, key: str, tests: Path) -> tuple[str, ...]:
        ids = self.string_list(key)
        for test_id in ids:
            if not TEST_ID.match(test_id):
                self.fail(key, f"'{test_id}' in {key} is not a test id like 'test_x.py::test_name' "
                               "(relative to tests/)")
            if not (tests / test_id.split("::")[0]).is_file():
                self.fail(key, f"'{test_id}' in {key} names a file that is not in {tests}")
        return ids
