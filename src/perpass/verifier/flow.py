"""verify_delivery: what the host does with a fresh verifier session.

1. put in one tar: the delivered bytes (as a file, never unpacked by us), the task's initial
   repository, the hidden tests plus a sentinel file in a folder with a random name, and the
   runner's config (random name; holds the channel key; the runner deletes it on start);
2. run the kit's run_tests.py once, with the channel on fd 3: it materialises the checkout (or
   refuses it: `oversized`, `unreadable`), scans it, then runs the hidden tests, all in one
   interpreter (the separate interpreter starts cost more than the 200 ms budget on a busy machine);
   for a task with its own `test_command`, it puts the hidden tests at `hidden_dir` in the checkout
   and runs the command instead, and reports only its exit code (the weaker "command" method);
3. judge its sealed records (perpass.verifier.judge).
The delivered bytes are hostile: everything that reads them runs inside the session.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import shlex
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from perpass.sandbox import Session
from perpass.tasks.model import Task, task_files
from perpass.verifier.expected import ExpectedTests, expected_tests
from perpass.verifier.judge import fail, judge_run
from perpass.verifier.kit.perpass_kit.treepolicy import Caps
from perpass.verifier.records import read_run
from perpass.verifier.sentinel import Sentinel, make_sentinel
from perpass.verifier.verdict import Timings, Verdict


@dataclass(frozen=True)
class Delivery:
    """What the agent delivered, as the host took it out of the agent's session.

    push: `data` is a tar of the bare remote's objects/ folder, `sha` the 40-hex id of its
    refs/heads/main (None when main does not exist). workspace: `data` is a tar of the working tree,
    members relative to its root."""

    kind: Literal["push", "workspace"]
    data: bytes
    sha: str | None = None

    @classmethod
    def push(cls, objects_tar: bytes, sha: str | None) -> Delivery:
        return cls("push", objects_tar, sha.strip() if sha else None)

    @classmethod
    def workspace(cls, tree_tar: bytes) -> Delivery:
        return cls("workspace", tree_tar)


@dataclass(frozen=True)
class Layout:
    """Where things are inside the verifier session (defaults: the bwrap session of issue 10)."""

    kit: str = "/opt/perpass-kit"
    python: str = "python"
    root: str = "/tmp/perpass-verify"


@dataclass(frozen=True)
class VerifierLimits:
    """Caps on the delivered tree and the budgets of the stages before the tests (the tests' own
    budget is the task's verify_timeout_s). The session's timeout is their sum plus grace_s: the
    kit's watchdog ends an overrunning stage first, the session's timeout only when code stopped it."""

    caps: Caps = field(default_factory=Caps)
    materialise_timeout_s: float = 60.0
    scan_timeout_s: float = 30.0
    grace_s: float = 10.0


def tar_of(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return buffer.getvalue()


def folder_files(folder: Path, prefix: str) -> tuple[dict[str, bytes], dict[str, str]]:
    files, links = {}, {}
    for path in task_files(folder):
        rel = f"{prefix}/{path.relative_to(folder).as_posix()}"
        if path.is_symlink():
            links[rel] = str(path.readlink())
        else:
            files[rel] = path.read_bytes()
    return files, links


@dataclass(frozen=True)
class Plan:
    """The names of one verification inside the session; the random parts are unpredictable."""

    layout: Layout
    hidden_name: str = field(default_factory=lambda: f"h-{secrets.token_hex(8)}")
    config_name: str = field(default_factory=lambda: f"c-{secrets.token_hex(8)}.json")
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    sentinel: Sentinel = field(default_factory=make_sentinel)

    def path(self, *parts: str) -> str:
        return "/".join((self.layout.root, *parts))

    def script(self, name: str, *args: str) -> str:
        """The command line of a kit script, run isolated (-I: no PYTHON* variables, no user site,
        no script folder or cwd on sys.path) and without writing bytecode (-B: the kit is read-only)."""
        return " ".join(shlex.quote(a) for a in (self.layout.python, "-I", "-B", f"{self.layout.kit}/{name}", *args))


def session_inputs(task: Task, delivery: Delivery, plan: Plan, limits: VerifierLimits) -> bytes:
    files, links = folder_files(task.repo, "initial")
    hidden, hidden_links = folder_files(task.tests, plan.hidden_name)
    if task.test_command is None:  # a command task's own command would run (and fail on) the sentinels
        hidden[f"{plan.hidden_name}/{plan.sentinel.filename}"] = plan.sentinel.source().encode()
    hidden_hashes = {rel[len(plan.hidden_name) + 1:]: hashlib.sha256(data).hexdigest() for rel, data in hidden.items()}
    caps = limits.caps
    source = ({"tree_tar": plan.path("in", "delivered.tar")} if delivery.kind == "workspace"
              else {"objects_tar": plan.path("in", "delivered.tar"), "sha": delivery.sha})
    config = {
        "key": plan.key.hex(), "checkout": plan.path("tree"), "hidden": plan.path(plan.hidden_name),
        "basetemp": plan.path("pytest-tmp"), "hidden_hashes": hidden_hashes, "sentinels": plan.sentinel.nodeids,
        "materialise": {"dest": plan.path("tree"), "work": plan.path("materialise"),
                        "manifest": plan.path("manifest.json"), **source, "max_bytes": caps.max_bytes,
                        "max_files": caps.max_files, "max_depth": caps.max_depth, "max_path": caps.max_path},
        "scan": {"initial": plan.path("initial"), "tree": plan.path("tree"), "words": [task.hidden_dir.split("/")[0]]},
        "budgets": {"materialise": limits.materialise_timeout_s, "scan": limits.scan_timeout_s,
                    "tests": task.verify_timeout_s},
        "python_path": list(task.python_path),
    }
    if task.test_command is not None:
        config["command"] = {"run": task.test_command, "hidden_dir": task.hidden_dir}
    files.update(hidden)
    links.update(hidden_links)
    files["in/delivered.tar"] = delivery.data
    files[plan.config_name] = json.dumps(config).encode()
    files["tmp/.keep"] = b""
    return tar_of(files, links)


def method_of(task: Task) -> Literal["tests", "command"]:
    """How a task's deliveries are judged: per test (the hardened pytest run), or by a command's exit code."""
    return "tests" if task.test_command is None else "command"


def verify_delivery(task: Task, delivery: Delivery, session: Session, *, layout: Layout | None = None,
                    limits: VerifierLimits | None = None) -> Verdict:
    """Judge a delivery in a fresh verifier session (the caller starts and closes it).

    One session command runs the kit's run_tests.py: materialise, scan, then the hidden tests, each
    stage with its own budget. Returns a Verdict for anything the delivered content causes; raises
    InfraError only when the session itself fails."""
    started = time.perf_counter()
    limits = limits or VerifierLimits()
    if delivery.kind == "push" and delivery.sha is None:
        return fail("no_delivery", "the remote has no main branch", delivered=False, method=method_of(task))
    plan = Plan(layout or Layout())
    session.put_tar(plan.layout.root, session_inputs(task, delivery, plan, limits))
    command = (f"cd {shlex.quote(plan.layout.root)} && TMPDIR={shlex.quote(plan.path('tmp'))} exec "
               + plan.script("run_tests.py", plan.path(plan.config_name)))
    budget = limits.materialise_timeout_s + limits.scan_timeout_s + task.verify_timeout_s + limits.grace_s
    result = session.run(command, budget, channel=True)
    records = read_run(result.channel, plan.key)
    by_command = task.test_command is not None  # an exit-code verdict: no test ids to expect
    expected = ExpectedTests((), "hidden tests") if by_command else expected_tests(task)
    verdict = judge_run(records, result, expected, plan.sentinel, task.allow, command=by_command)
    verdict.method = method_of(task)
    materialise_s = float((records.materialise or {}).get("seconds") or 0.0)
    scan_s = float((records.scan or {}).get("seconds") or 0.0)
    verdict.timings = Timings(materialise_s=materialise_s, scan_s=scan_s,
                              tests_s=max(result.wall_s - materialise_s - scan_s, 0.0),
                              total_s=time.perf_counter() - started)
    return verdict
