"""`perpass tasks mine REPO`: tasks from a repository's own history.

Each non-merge commit that changes both code and tests is a candidate. Its task: the repository is the
parent commit's tree; the hidden tests are the test modules the commit touched, in the commit's version,
with the rest of their test folder beside them (conftest files, helpers, data; not the other test
modules), or the touched test files when they sit at the top; the oracle is the commit's diff of
everything else but docs (solution/fix.patch); the instruction is the commit message (as written:
perpass does not rewrite it). A src-layout repository (src/<package>/) gets src/ on the import path.
A candidate is kept only if, in the sandbox, the oracle passes through the real agent loop, at least one
hidden test fails before and passes after (FAIL_TO_PASS), every hidden test that passed before still
passes (PASS_TO_PASS), within the time limit, and a second check agrees (else it is flaky); the two lists
are written to task.toml, so the verifier requires exactly them. The tier comes from the oracle's size.
Every commit not kept is reported with the reason. Git only reads the repository; nothing there changes.
"""

from __future__ import annotations

import fnmatch
import io
import json
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from perpass.errors import UserError
from perpass.runs.task_check import TaskCheck, check_task_detail
from perpass.sandbox import SandboxBackend
from perpass.tasks.model import FENCE
from perpass.tasks.sources import load_task

DOC_SUFFIXES = (".md", ".rst", ".txt", ".adoc")
DOC_NAMES = ("README", "CHANGES", "CHANGELOG", "HISTORY", "NEWS", "LICENSE", "AUTHORS")


@dataclass(frozen=True)
class MineOptions:
    since: str | None = None
    limit: int = 20  # candidates checked in the sandbox (the newest first)
    paths: str | None = None  # glob the code changes must match
    time_limit_s: float = 60.0  # the hidden tests' time limit


@dataclass
class MineReport:
    commits: int = 0
    candidates: int = 0
    accepted: list[Path] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (short sha, reason), every commit not kept
    rejected_candidates: list[tuple[str, str]] = field(default_factory=list)  # those checked in the sandbox
    checked: int = 0  # candidates checked in the sandbox
    # Of those, how many oracles passed: no hidden test that passed before fails after it, and the verdict
    # failed (if at all) only on tests that failed before too.
    oracle_passes: int = 0

    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, why in self.rejected:
            key = why.split(":")[0]
            counts[key] = counts.get(key, 0) + 1
        return counts


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True)
    if done.returncode != 0:
        raise UserError(f"{repo}: git {args[0]} failed: {done.stderr.decode(errors='replace').strip()[:300]}")
    return done.stdout.decode(errors="replace")


def is_test(path: str) -> bool:
    parts = PurePosixPath(path).parts
    name = parts[-1]
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"
                                     or any(p in ("tests", "test", "testing") for p in parts[:-1]))


def is_doc(path: str) -> bool:
    name = PurePosixPath(path).name
    return name.endswith(DOC_SUFFIXES) or name.split(".")[0].upper() in DOC_NAMES or path.startswith("docs/")


def tier_of(files: int, lines: int) -> str:
    if files == 1 and lines <= 10:
        return "T1"
    return "T2" if files <= 3 and lines <= 100 else "T3"


def extract(repo: Path, commit: str, dest: Path, paths: list[str] | None = None) -> None:
    data = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", commit, *(paths or [])],
                          capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(dest, filter="data")


def is_src_layout(repo: Path) -> bool:
    """A package at src/<name>/__init__.py with nothing of that name at the top: the tests can import it
    only with src/ on the import path (task.toml python_path)."""
    return any(not (repo / package.parent.name).exists() and not (repo / f"{package.parent.name}.py").exists()
               for package in (repo / "src").glob("*/__init__.py"))


def toml_list(items: list[str] | tuple[str, ...]) -> str:
    return json.dumps(list(items))  # a JSON list of strings is a TOML array


def append_toml(dest: Path, text: str) -> None:
    with open(dest / "task.toml", "a") as toml:
        toml.write(text)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "repo"


class Miner:
    def __init__(self, repo: Path, out: Path, options: MineOptions, backend: SandboxBackend,
                 progress: Callable[[str], None]) -> None:
        self.repo, self.out, self.options, self.backend, self.progress = repo, out, options, backend, progress
        folder = repo.resolve()
        # A bare mirror is often <project>/repo or <project>.git: name the tasks after the project.
        self.name = slug(folder.parent.name if folder.name in ("repo", ".git") else folder.name.removesuffix(".git"))

    def commits(self) -> list[str]:
        since = [f"--since={self.options.since}"] if self.options.since else []
        return git(self.repo, "rev-list", "--no-merges", *since, "HEAD").split()

    def changes(self, commit: str) -> tuple[str | None, list[str]]:
        """(parent, changed paths); parent None for a root commit."""
        parents = git(self.repo, "rev-list", "--parents", "-n", "1", commit).split()[1:]
        if len(parents) != 1:
            return None, []
        names = git(self.repo, "diff", "--name-only", "--no-renames", parents[0], commit).split("\n")
        return parents[0], [n for n in names if n]

    def screen(self, commit: str) -> tuple[str, list[str], list[str]] | str:
        """(parent, test paths, code paths) of a candidate, or why the commit is none."""
        parent, changed = self.changes(commit)
        if parent is None:
            return "root commit: no parent to start from"
        tests = [p for p in changed if is_test(p)]
        code = [p for p in changed if not is_test(p) and not is_doc(p)]
        if self.options.paths:
            code = [p for p in code if fnmatch.fnmatch(p, self.options.paths)]
        if not tests and not code:
            return "no code or test change (docs only)"
        if not tests:
            return "no test change"
        if not code:
            return "no code change (tests only)"
        return parent, tests, code

    def write(self, commit: str, parent: str, tests: list[str], code: list[str], dest: Path) -> str | None:
        """The task folder, or why the candidate cannot be one."""
        extract(self.repo, parent, dest / "repo")
        roots = {PurePosixPath(p).parent for p in tests}
        common = PurePosixPath(*next(iter(roots)).parts[:min(len(r.parts) for r in roots)]) if roots else None
        if common is None or any(not r.is_relative_to(common) for r in roots):
            return "tests in unrelated folders"
        scratch = dest / ".hidden"
        if common.parts:
            extract(self.repo, commit, scratch, [str(common)])
            shutil.move(scratch / common, dest / "tests")
            # Only the test modules the commit touched are held to: the rest of the suite would add
            # hundreds of PASS_TO_PASS tests and, run whole, flag classes the task would have to allow.
            touched = {PurePosixPath(p).relative_to(common).as_posix() for p in tests}
            for module in [*(dest / "tests").rglob("test_*.py"), *(dest / "tests").rglob("*_test.py")]:
                if module.relative_to(dest / "tests").as_posix() not in touched:
                    module.unlink()
        else:  # top-level test files: only those the commit touched (and a conftest.py beside them)
            present = git(self.repo, "ls-tree", "--name-only", commit).split("\n")
            extract(self.repo, commit, scratch, [p for p in tests if p in present]
                    + (["conftest.py"] if "conftest.py" in present else []))
            shutil.move(scratch, dest / "tests")
        shutil.rmtree(scratch, ignore_errors=True)
        patch = git(self.repo, "diff", "--binary", "--no-renames", parent, commit, "--", *code)
        if FENCE in patch:
            return "oracle contains ``` (the reply carrying it would break)"
        (dest / "solution").mkdir()
        (dest / "solution" / "fix.patch").write_text(patch)
        lines = sum(1 for line in patch.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---"))
        message = git(self.repo, "log", "-1", "--format=%B", commit).strip()
        instruction = (f"{message}\n\nMake this change in the repository (the commit message above describes "
                       "it). When you are done, commit your change and push it to origin main.")
        python_path = 'python_path = ["src"]\n' if is_src_layout(dest / "repo") else ""
        (dest / "task.toml").write_text(
            f'id = "{self.name}-{commit[:10]}"\ntier = "{tier_of(len(code), lines)}"\n'
            f"verify_timeout_s = {self.options.time_limit_s}\n{python_path}"
            f"instruction = '''\n{instruction.replace(chr(39) * 3, chr(34) * 3)}\n'''\n")
        return None

    def check(self, dest: Path) -> TaskCheck:
        return check_task_detail(load_task(dest), self.backend)

    def judge(self, dest: Path, report: MineReport) -> str | None:
        """Check in the sandbox; write FAIL_TO_PASS / PASS_TO_PASS; None when accepted."""
        try:
            first = self.check(dest)
            if first.reasons[0] == "suspicious":
                # The project's own code uses what the verifier flags (frames, introspection...): the oracle,
                # a correct solution, needs those classes, so the task allows them (docs/verifier.md).
                append_toml(dest, f"allow = {toml_list(first.oracle_flags)}\n")
                first = self.check(dest)
        except UserError as err:
            return f"task does not load: {err}"[:300]
        if "timeout" in first.reasons:
            return f"timeout: the hidden tests ran over {self.options.time_limit_s:g} s"
        # Tests failing or without a result after the oracle are simply not required (not in either list).
        if first.reasons[0] not in ("passed", "tests_failed", "missing_results"):
            return f"oracle {first.reasons[0]}: {(first.problem or '')[:200]}"
        if first.tests is None:
            return f"no per-test results: {first.problem or 'the verifier ran no test'}"[:300]
        report.oracle_passes += not first.tests.broken
        if not first.tests.fail_to_pass:
            return "no FAIL_TO_PASS: no hidden test fails before and passes after the oracle"
        if first.tests.broken:
            return f"PASS_TO_PASS broken: {first.tests.broken[0]} passed before the oracle, not after"
        append_toml(dest, f"fail_to_pass = {toml_list(first.tests.fail_to_pass)}\n"
                          f"pass_to_pass = {toml_list(first.tests.pass_to_pass)}\n")
        second = self.check(dest)
        if not second.ok:
            return f"flaky: the second check disagreed ({second.reasons[0]}: {(second.problem or '')[:200]})"
        return None

    def run(self) -> MineReport:
        report = MineReport()
        self.out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".perpass-mine-", dir=self.out) as scratch:
            for commit in self.commits():
                report.commits += 1
                screened = self.screen(commit)
                if isinstance(screened, str):
                    report.rejected.append((commit[:10], screened))
                    continue
                report.candidates += 1
                if report.checked >= self.options.limit:
                    report.rejected.append((commit[:10], f"over --limit {self.options.limit}"))
                    continue
                report.checked += 1
                dest = Path(scratch) / f"{self.name}-{commit[:10]}"
                why = self.write(commit, *screened, dest) or self.judge(dest, report)
                self.progress(f"[{report.checked}] {commit[:10]}: {why or 'accepted'}")
                if why:
                    report.rejected.append((commit[:10], why))
                    report.rejected_candidates.append((commit[:10], why))
                elif (self.out / dest.name).exists():
                    report.rejected.append((commit[:10], f"{self.out / dest.name} already exists"))
                else:
                    report.accepted.append(dest.rename(self.out / dest.name))
        return report


def mine(repo: Path, out: Path, options: MineOptions, backend: SandboxBackend,
         progress: Callable[[str], None] = lambda line: None) -> MineReport:
    if not (repo / ".git").exists() and not (repo / "HEAD").is_file():
        raise UserError(f"{repo}: not a git repository")
    return Miner(repo, out, options, backend, progress).run()


def summary(report: MineReport) -> str:
    reasons = ", ".join(f"{why} {n}" for why, n in sorted(report.reasons().items()))
    return (f"{report.commits} commits, {report.candidates} candidates (code + tests), {report.checked} checked, "
            f"{len(report.accepted)} accepted, oracle passed {report.oracle_passes}/{report.checked}; "
            f"rejected by reason: {reasons or 'none'}")
