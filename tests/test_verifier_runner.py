"""verify_delivery end to end on small tasks, in real verifier sessions (bwrap): the audit hook (flags on
the repository's line, none for the standard library, pytest or the hidden tests), the sealed record
stream and the sentinels, expected ids (lists, parametrized cases, skips), early exits, and what is
infra (the sandbox failing: a fault injected into a real session, a bwrap that cannot start) and what is
not (anything the delivered content does, a session lost under the tests)."""

from __future__ import annotations

import os
import signal
import tempfile
import textwrap
import threading
from pathlib import Path

import pytest
from tasks_helpers import GOOD_TOML, write_task
from verifier_helpers import FaultyBackend, RecordingSession, SessionProxy, backend, exists, verifier_session

from perpass.sandbox import CommandResult, Session, open_backend
from perpass.tasks import Task, load_task
from perpass.tasks.model import ALLOW_CLASSES
from perpass.verifier import Delivery, InfraError, Layout, Verdict, verify_delivery
from perpass.verifier.records import read_run
from perpass.verifier.sandboxed import layout_for, unchanged_delivery, verify

WORKSPACE = GOOD_TOML + 'delivery = "workspace"\n'
ALLOW_ALL = "allow = [" + ", ".join(f'"{c}"' for c in ALLOW_CLASSES) + "]\n"


def task_with(tmp_path: Path, repo: dict[str, str], hidden: dict[str, str], toml: str = "") -> Task:
    return load_task(write_task(tmp_path / "task", toml=WORKSPACE + toml,
                                repo={k: textwrap.dedent(v) for k, v in repo.items()},
                                hidden={k: textwrap.dedent(v) for k, v in hidden.items()}))


def verify_in(task: Task, session: Session) -> Verdict:
    """Deliver the task's own repository (so the static scan sees no change: these tests are about
    the run) into an open session, which stays open for the test to look into."""
    return verify_delivery(task, unchanged_delivery(task), session, layout=layout_for(session))


def verify_unchanged(task: Task) -> Verdict:
    """The same, through the product's verify (a session of its own, closed after)."""
    return verify(task, unchanged_delivery(task), backend())


STDLIB_HELPERS = """
    import collections
    import dataclasses
    import enum
    import inspect
    import json
    import logging
    import traceback
    import typing
    import warnings

    T = typing.TypeVar("T")
    Point = collections.namedtuple("Point", "x y")


    class Colour(enum.Enum):
        RED = 1


    @dataclasses.dataclass
    class Box:
        size: int


    def answer() -> int:
        logging.getLogger(__name__).warning("computing")
        warnings.warn("old", DeprecationWarning)
        try:
            raise ValueError("x")
        except ValueError:
            traceback.format_exc()
        inspect.signature(answer)
        return Point(20, 22).x + Box(22).size + Colour.RED.value - 1 + len(json.dumps([])) - 2
    """


def test_the_standard_library_on_behalf_of_the_repository_is_not_flagged(tmp_path: Path) -> None:
    hidden = {"test_hidden_answer.py": """
        import gc
        import sys

        from answer import answer


        def test_answer():
            sys._getframe()  # the hidden tests are ours: they may look anywhere
            gc.get_referrers(answer)
            assert answer() == 42
        """}
    verdict = verify_unchanged(task_with(tmp_path, {"answer.py": STDLIB_HELPERS}, hidden))
    assert verdict.passed, (verdict.reason, verdict.detail, verdict.evidence)
    assert [e for e in verdict.evidence if e.kind == "audit"] == []


RUNTIME_TRICKS = """
    import gc
    import inspect
    import os
    import subprocess
    import sys
    import threading


    def answer() -> int:
        sys._getframe(1)
        inspect.currentframe()
        gc.get_referrers(answer)
        exec("import sys; sys._getframe()")
        compile("x = 1", "/usr/lib/python3.11/os.py", "exec")
        worker = threading.Thread(target=gc.get_objects)
        worker.start()
        worker.join()
        subprocess.run(["true"], check=True)
        os.listdir("/proc/self/fd")
        answer.__code__
        return 42
    """


def test_runtime_flags_name_the_repository_line(tmp_path: Path) -> None:
    hidden = {"test_hidden_answer.py": "from answer import answer\n\n\ndef test_answer():\n    assert answer() == 42\n"}
    task = task_with(tmp_path, {"answer.py": RUNTIME_TRICKS}, hidden, ALLOW_ALL)
    verdict = verify_unchanged(task)
    assert verdict.passed, (verdict.reason, verdict.detail)  # every class allowed: evidence, not failure
    audit = {(e.cls, e.where, e.detail.split()[0]) for e in verdict.evidence if e.kind == "audit"}
    assert all(e.allowed for e in verdict.evidence if e.kind in ("audit", "scan"))
    assert {
        ("stack", "answer.py:11", "sys._getframe"), ("stack", "answer.py:12", "sys._getframe"),
        ("introspection", "answer.py:13", "gc.get_referrers"), ("stack", "answer.py:14", "sys._getframe"),
        ("dynamic", "answer.py:15", "compile"), ("introspection", "a thread with no caller", "gc.get_objects"),
        ("process", "answer.py:19", "subprocess.Popen"), ("verifier", "answer.py:20", "os.listdir"),
        ("hooks", "answer.py:21", "object.__getattr__"),
    } <= audit, audit
    task = task_with(tmp_path / "strict", {"answer.py": RUNTIME_TRICKS}, hidden)
    verdict = verify_unchanged(task)
    assert verdict.reason == "suspicious" and not verdict.passed


HIDDEN_READS = """
    import logging
    import os
    import sys


    def answer(callback):
        try:
            callback()
        except ValueError:
            logging.getLogger("x").exception("failed")  # the traceback shows the hidden test's lines
        return 42


    def peek():
        test_file = next(m.__file__ for m in list(sys.modules.values())
                         if "test_hidden" in str(getattr(m, "__file__", "")))
        with open(test_file) as handle:
            handle.read()
        os.symlink(os.path.dirname(test_file), os.path.join(os.environ["TMPDIR"], "peek"))
    """


def test_looking_at_the_hidden_tests_is_flagged_a_traceback_is_not(tmp_path: Path) -> None:
    hidden = {"test_hidden_answer.py": """
        from answer import answer, peek


        def test_answer():
            def fails():
                raise ValueError("boom")
            assert answer(fails) == 42


        def test_peek():
            peek()
        """}
    verdict = verify_unchanged(task_with(tmp_path, {"answer.py": HIDDEN_READS}, hidden, ALLOW_ALL))
    assert verdict.passed, (verdict.reason, verdict.detail)
    audit = sorted((e.cls, e.where, e.detail.split()[0]) for e in verdict.evidence if e.kind == "audit")
    assert audit == [("verifier", "answer.py:18", "open"), ("verifier", "answer.py:20", "os.symlink")], audit


def test_record_stream_is_sealed_sequenced_and_sentinels_run_last(tmp_path: Path) -> None:
    hidden = {"test_hidden_answer.py": "from answer import answer\n\n\ndef test_a():\n    assert answer() == 41\n\n\n"
                                       "def test_b():\n    assert answer() == 42\n"}
    with verifier_session() as real:
        session = RecordingSession(real)
        verdict = verify_in(task_with(tmp_path, {"answer.py": "def answer():\n    return 41\n"}, hidden), session)
        root = layout_for(real).root
        assert session.config_name and not exists(real, f"{root}/{session.config_name}"), \
            "the runner deletes its config (the key)"
        assert exists(real, session.config["hidden"]) and exists(real, f"{root}/tree/answer.py")
    assert verdict.reason == "tests_failed" and "test_b failed" in verdict.detail
    records = session.records()
    assert records.started and records.finished and records.forged == [] and records.integrity == []
    sentinel = session.config["sentinels"]
    order = [t.nodeid for t in records.tests]
    assert order == ["test_hidden_answer.py::test_a", "test_hidden_answer.py::test_b",
                     sentinel["must_error"], sentinel["must_fail"], sentinel["must_pass"]]
    assert [t.outcome for t in records.tests] == ["passed", "failed", "error", "failed", "passed"]
    assert all(t.ran and t.code_ok for t in records.tests if t.outcome in ("passed", "failed"))
    assert session.config["hidden"].rsplit("/", 1)[1].startswith("h-") and len(session.config["hidden"]) > 20


def test_one_altered_line_makes_the_run_tampered(tmp_path: Path) -> None:
    hidden = {"test_hidden_answer.py": "from answer import answer\n\n\ndef test_a():\n    assert answer() == 42\n"}
    with verifier_session() as real:
        session = RecordingSession(real)
        assert verify_in(task_with(tmp_path, {"answer.py": "def answer():\n    return 42\n"}, hidden), session).passed
    key = bytes.fromhex(session.config["key"])
    channel = session.results[-1].channel
    assert read_run(channel, key).forged == []
    altered = channel.replace(b'"outcome":"error"', b'"outcome":"passed"', 1)
    assert read_run(altered, key).forged
    lines = channel.split(b"\n")
    assert read_run(b"\n".join([lines[0], *lines[2:]]), key).forged  # a dropped record breaks the sequence
    assert read_run(channel + b"extra", key).forged


def test_skips_and_parametrized_cases(tmp_path: Path) -> None:
    hidden = {"test_hidden_answer.py": """
        import pytest

        from answer import answer


        @pytest.mark.parametrize("n", [1, 2, 3])
        def test_many(n):
            assert answer(n) == n * 2


        @pytest.mark.skip(reason="the author's")
        def test_not_required():
            assert False


        def test_skips_itself():
            if answer(0) != 0:
                pytest.skip("a skip where a pass was required")
        """}
    buggy = "def answer(n):\n    return n * 2 if n < 3 else 0\n"
    verdict = verify_unchanged(task_with(tmp_path / "a", {"answer.py": buggy}, hidden))
    assert verdict.reason == "tests_failed" and "test_many[3] failed" in verdict.detail
    assert len([t for t in verdict.tests if t.nodeid.startswith("test_hidden_answer.py::test_many[")]) == 3
    skipping = "def answer(n):\n    return n * 2 if n else 1\n"
    verdict = verify_unchanged(task_with(tmp_path / "b", {"answer.py": skipping}, hidden))
    assert verdict.reason == "tests_failed" and "skipped where a pass was required" in verdict.detail
    verdict = verify_unchanged(task_with(tmp_path / "c", {"answer.py": "def answer(n):\n    return n * 2\n"}, hidden))
    assert verdict.passed, verdict.detail
    assert {t.nodeid: t.required for t in verdict.tests}["test_hidden_answer.py::test_not_required"] is False


def test_fail_to_pass_lists_decide_what_counts(tmp_path: Path) -> None:
    hidden = {"test_hidden_answer.py": "from answer import answer\n\n\ndef test_fixed():\n"
                                       "    assert answer() == 42\n\n\ndef test_unrelated():\n    assert False\n"}
    repo = {"answer.py": "def answer():\n    return 42\n"}
    listed = 'fail_to_pass = ["test_hidden_answer.py::test_fixed"]\n'
    verdict = verify_unchanged(task_with(tmp_path / "a", repo, hidden, listed))
    assert verdict.passed and {t.nodeid: t.required for t in verdict.tests} == {
        "test_hidden_answer.py::test_fixed": True, "test_hidden_answer.py::test_unrelated": False}
    missing = 'pass_to_pass = ["test_hidden_answer.py::test_gone"]\n'
    verdict = verify_unchanged(task_with(tmp_path / "b", repo, hidden, missing))
    assert verdict.reason == "missing_results" and verdict.missing == ["test_hidden_answer.py::test_gone"]


def test_exits_and_collection_errors_are_fails_with_their_reason(tmp_path: Path) -> None:
    hidden = {"test_hidden_answer.py": "from answer import answer\n\n\ndef test_a():\n    assert answer() == 42\n"}
    exiting = "import os\n\n\ndef answer():\n    os._exit(0)\n"
    verdict = verify_unchanged(task_with(tmp_path / "a", {"answer.py": exiting}, hidden, 'allow = ["process"]\n'))
    assert verdict.reason == "early_exit" and not verdict.passed
    broken = "def answer(:\n"
    verdict = verify_unchanged(task_with(tmp_path / "b", {"answer.py": broken}, hidden))
    assert verdict.reason == "tests_failed" and "collecting" in verdict.detail, verdict.detail


class FailingRun(SessionProxy):
    """A real session whose command runner fails as the sandbox itself would (no reply from the
    supervisor): the fault the host side must call infra."""

    def run(self, command: str, timeout_s: float, *, channel: bool = False) -> CommandResult:
        return CommandResult(exit_code=None, output="", timed_out=False, wall_s=0.0,
                             error="run failed in the session: supervisor stopped answering")


class FailingPut(SessionProxy):
    def put_tar(self, dest: str, data: bytes) -> None:
        from perpass.sandbox import SandboxError

        raise SandboxError("put failed in the session: OSError: [Errno 5] Input/output error")


def small_task(tmp_path: Path) -> Task:
    return task_with(tmp_path, {"answer.py": "def answer():\n    return 42\n"},
                     {"test_hidden_answer.py": "from answer import answer\n\n\ndef test_a():\n"
                                               "    assert answer() == 42\n"})


def test_only_the_session_itself_is_infra(tmp_path: Path) -> None:
    task = small_task(tmp_path)
    assert verify_unchanged(task).passed  # the control: the same task on a healthy session
    with pytest.raises(InfraError, match="supervisor stopped answering"):
        verify(task, unchanged_delivery(task), FaultyBackend(backend(), FailingRun))
    with pytest.raises(InfraError, match="Input/output error"):
        verify(task, unchanged_delivery(task), FaultyBackend(backend(), FailingPut))
    with verifier_session() as session:  # the kit cannot even start: no Python where the layout says
        layout = layout_for(session)
        with pytest.raises(InfraError, match="did not start"):
            verify_delivery(task, unchanged_delivery(task), session,
                            layout=Layout(layout.kit, "/nonexistent/python", layout.root))


def test_a_bwrap_that_cannot_start_is_infra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real backend, pointed at a bwrap that fails (in a folder the sandbox user can read)."""
    task = small_task(tmp_path)
    folder = Path(tempfile.mkdtemp(prefix="perpass-broken-bwrap-"))
    folder.chmod(0o755)
    broken = folder / "bwrap"
    broken.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setenv("PERPASS_BWRAP", str(broken))
    try:
        with pytest.raises(InfraError, match="did not start.*uid map: Permission denied"):
            verify(task, unchanged_delivery(task), open_backend("bwrap"))
    finally:
        broken.unlink()
        folder.rmdir()


class KilledUnderTheTests(SessionProxy):
    """Kills the real session's supervisor from the host while the hidden tests run, as if the
    delivered code had found a way to take the session down."""

    def run(self, command: str, timeout_s: float, *, channel: bool = False) -> CommandResult:
        assert self.session.host_pid is not None
        killer = threading.Timer(4.0, os.kill, (self.session.host_pid, signal.SIGKILL))
        killer.start()
        try:
            return self.session.run(command, timeout_s, channel=channel)
        finally:
            killer.cancel()


def test_a_session_lost_under_the_tests_is_a_fail_not_infra(tmp_path: Path) -> None:
    task = task_with(tmp_path, {"answer.py": "def answer():\n    return 42\n"},
                     {"test_hidden_answer.py": "import time\n\n\ndef test_slow():\n    time.sleep(60)\n"})
    verdict = verify(task, unchanged_delivery(task), FaultyBackend(backend(), KilledUnderTheTests))
    assert (verdict.passed, verdict.reason) == (False, "early_exit"), verdict.detail
    assert "session was lost" in verdict.detail


class Untouched(SessionProxy):
    def run(self, command: str, timeout_s: float, *, channel: bool = False) -> CommandResult:
        raise AssertionError("nothing is run for a remote without main")

    def put_tar(self, dest: str, data: bytes) -> None:
        raise AssertionError("nothing is put in for a remote without main")


def test_nothing_pushed_is_no_delivery(tmp_path: Path) -> None:
    task = load_task(write_task(tmp_path / "task"))
    with verifier_session() as session:
        verdict = verify_delivery(task, Delivery.push(b"", None), Untouched(session))
    assert verdict.reason == "no_delivery" and not verdict.passed and not verdict.delivered


def test_unittest_test_cases_are_required_and_judged_per_test(tmp_path: Path) -> None:
    """pytest collects a unittest.TestCase whatever its name (Exercism's `ChangeTest`): each method is a
    required test (one under @unittest.skip is not), its call is recorded (so a pass is no `never called`
    tamper), a failure fails."""
    hidden = {"calc_test.py": """
        import unittest
        from calc import double


        class CalcTest(unittest.TestCase):
            def test_double(self):
                self.assertEqual(double(2), 4)

            def test_zero(self):
                self.assertEqual(double(0), 0)

            @unittest.skip("extra credit")
            def test_extra(self):
                self.assertEqual(double(1), 3)
        """}
    good = verify_unchanged(task_with(tmp_path / "good", {"calc.py": "def double(x):\n    return 2 * x\n"}, hidden))
    assert good.passed, good.detail
    assert sorted(t.nodeid for t in good.tests if t.required) == ["calc_test.py::CalcTest::test_double",
                                                                  "calc_test.py::CalcTest::test_zero"]
    bad = verify_unchanged(task_with(tmp_path / "bad", {"calc.py": "def double(x):\n    return x + 2\n"}, hidden))
    assert bad.reason == "tests_failed" and "CalcTest::test_zero failed" in bad.detail


def test_hidden_tests_with_nothing_to_require_never_pass(tmp_path: Path) -> None:
    verdict = verify_unchanged(task_with(tmp_path, {"calc.py": "X = 1\n"},
                                         {"test_hidden_x.py": "def check_x():\n    assert False\n"}))
    assert not verdict.passed and verdict.reason == "missing_results"
    assert "define no test perpass recognises" in verdict.detail
