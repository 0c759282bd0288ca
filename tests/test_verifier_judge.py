"""The judge on hand-made records: which reason wins, what counts as tampering, what is infra; and
the expected test ids read from hidden test files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from tasks_helpers import GOOD_TOML, write_task

from perpass.sandbox import CommandResult
from perpass.tasks import load_task
from perpass.verifier.expected import ExpectedTests, expected_tests
from perpass.verifier.judge import judge_run, run_verdict
from perpass.verifier.records import AuditFlag, OutcomeRecord, RunRecords
from perpass.verifier.sentinel import make_sentinel
from perpass.verifier.verdict import Evidence, InfraError

SENTINEL = make_sentinel()
EXPECTED = ExpectedTests(("test_h.py::test_a", "test_h.py::test_b"), "hidden tests")


def command_result(exit_code: int | None = 0, **fields: object) -> CommandResult:
    """A finished command as the session reports it (the sandbox's own CommandResult)."""
    return CommandResult(exit_code=exit_code, output=str(fields.pop("output", "")),
                         timed_out=bool(fields.pop("timed_out", False)), wall_s=1.0, **fields)  # type: ignore[arg-type]


def rec(nodeid: str, outcome: str = "passed", message: str = "", ran: bool = True, raised: str | None = None,
         code_ok: bool = True) -> OutcomeRecord:
    return OutcomeRecord(nodeid, outcome, message, 0.01, ran, raised, code_ok)


def sentinels() -> list[OutcomeRecord]:
    return [rec(SENTINEL.nodeid(SENTINEL.must_error), "error"),
            rec(SENTINEL.nodeid(SENTINEL.must_fail), "failed", f"AssertionError: perpass sentinel {SENTINEL.nonce}",
                 raised="AssertionError"),
            rec(SENTINEL.nodeid(SENTINEL.must_pass))]


def records(*tests: OutcomeRecord, finished: bool = True, **fields: object) -> RunRecords:
    return RunRecords(started=True, finished=finished, tests=[*tests, *sentinels()], integrity=[], **fields)


def judge(run: RunRecords, result: CommandResult | None = None, allow: tuple[str, ...] = (),
          evidence: list[Evidence] | None = None) -> tuple[str, str]:
    verdict = run_verdict(run, result or command_result(), EXPECTED, SENTINEL, allow, evidence or [])
    assert verdict.passed == (verdict.reason == "passed")
    return verdict.reason, verdict.detail


A, B = "test_h.py::test_a", "test_h.py::test_b"


def test_all_required_passing_passes() -> None:
    assert judge(records(rec(A), rec(B)))[0] == "passed"


@pytest.mark.parametrize(("run", "reason", "words"), [
    (records(rec(A), rec(B, "failed", "assert 1 == 2", raised="AssertionError")), "tests_failed", "test_b failed"),
    (records(rec(A), rec(B, "skipped", "later")), "tests_failed", "skipped where a pass was required"),
    (records(rec(A), rec(B, "xfailed")), "tests_failed", "skipped where a pass was required"),
    (records(rec(A)), "missing_results", "test_b"),
    (records(rec(A), collect_errors=[("test_h.py", "SyntaxError")]), "tests_failed", "collecting test_h.py failed"),
    (records(rec(A), rec(B), rec(B)), "duplicate_result", "test_b"),
    (records(rec(A), finished=False), "early_exit", "finish record"),
])
def test_failures_have_their_reason(run: RunRecords, reason: str, words: str) -> None:
    got, detail = judge(run)
    assert got == reason and words in detail, detail


def test_parametrized_cases_collapse_to_their_base() -> None:
    cases = [rec(f"{A}[{n}]") for n in (1, 2, 3)]
    assert judge(records(*cases, rec(B)))[0] == "passed"
    cases[1] = rec(f"{A}[2]", "failed")
    assert judge(records(*cases, rec(B)))[0] == "tests_failed"


@pytest.mark.parametrize(("change", "words"), [
    (lambda r: replace(r, forged=["line 3 does not carry the run's seal"]), "seal"),
    (lambda r: replace(r, integrity=["builtins.AssertionError was replaced"]), "AssertionError"),
    (lambda r: replace(r, integrity=None), "never reported"),
    (lambda r: replace(r, tests=[rec(A, ran=False), rec(B), *sentinels()]), "never called"),
    (lambda r: replace(r, tests=[rec(A, raised="AssertionError"), rec(B), *sentinels()]), "although it raised"),
    (lambda r: replace(r, tests=[rec(A, code_ok=False), rec(B), *sentinels()]), "other than the one collected"),
    (lambda r: replace(r, tests=[rec(A), rec(B), *sentinels()[:2]]), "passed sentinel was never reported"),
    (lambda r: replace(r, tests=[rec(A), rec(B), *(replace(s, outcome="passed") for s in sentinels())]),
     "must end failed was reported passed"),
    (lambda r: replace(r, tests=[rec(A), rec(B), sentinels()[0], replace(sentinels()[1], message="AssertionError"),
                                 sentinels()[2]]), "nonce"),
])
def test_tamper_signs(change, words: str) -> None:  # type: ignore[no-untyped-def]
    reason, detail = judge(change(records(rec(A), rec(B))))
    assert reason == "tampered" and words in detail, detail


def test_missing_sentinels_of_a_cut_session_are_not_tampering() -> None:
    """pytest stopped early (SystemExit on import): hidden results are missing too, so it is a plain fail."""
    run = RunRecords(started=True, finished=True, tests=[], integrity=[])
    assert judge(run)[0] == "missing_results"


def test_tampering_beats_flags_beats_everything_else() -> None:
    flagged = records(rec(A), rec(B, "failed"), flags=[AuditFlag("stack", "sys._getframe", "a.py:3", "")])
    assert judge(flagged)[0] == "suspicious"
    assert judge(flagged, allow=("stack",))[0] == "tests_failed"
    assert judge(replace(flagged, forged=["x"]))[0] == "tampered"
    scan = [Evidence(kind="scan", cls="time", where="a.py:1", detail="time.time: x")]
    assert judge(records(rec(A), rec(B)), evidence=scan)[0] == "suspicious"
    assert judge(records(rec(A), rec(B)), evidence=scan, allow=("time",))[0] == "passed"


def test_timeouts_and_kills() -> None:
    assert judge(records(rec(A), finished=False), command_result(exit_code=None, timed_out=True))[0] == "timeout"
    assert judge(records(rec(A), rec(B)), command_result(timed_out=True))[0] == "passed"  # finished before the kill
    reason, detail = judge(records(finished=False), command_result(exit_code=None, killed_by="memory"))
    assert reason == "early_exit" and "memory" in detail


def test_infra_only_when_the_session_failed_or_the_runner_never_started() -> None:
    with pytest.raises(InfraError):
        judge(records(rec(A), rec(B)), command_result(error="supervisor died"))
    with pytest.raises(InfraError):
        judge(RunRecords())


def test_a_lost_verifier_session_is_a_fail() -> None:
    """The records went with the session; the delivery was running in it: never infra."""
    lost = command_result(exit_code=None, lost=True, output="[perpass sandbox: the session ended]")
    for command in (False, True):
        verdict = judge_run(RunRecords(), lost, EXPECTED, SENTINEL, (), command=command)
        assert (verdict.passed, verdict.reason) == (False, "early_exit") and "session was lost" in verdict.detail


def test_command_verdicts() -> None:
    """A command task: the sealed exit code decides, after the seal and the flags."""
    def command(run: dict | None, result: CommandResult | None = None, **fields: object) -> tuple[str, str]:
        recs = RunRecords(started=True, finished=True, materialise={"status": "ok"}, scan={"changed": True},
                          command=run, **fields)  # type: ignore[arg-type]
        verdict = judge_run(recs, result or command_result(), EXPECTED, SENTINEL, (), command=True)
        assert verdict.passed == (verdict.reason == "passed") and verdict.tests == []
        return verdict.reason, verdict.detail

    reason, detail = command({"exit": 0, "timed_out": False})
    assert reason == "passed" and "exit-code verdict" in detail
    assert command({"exit": 2, "timed_out": False})[0] == "tests_failed"
    assert command({"exit": None, "timed_out": True, "budget": 1.0})[0] == "timeout"
    assert command(None, timeout="tests")[0] == "timeout"
    assert command(None)[0] == "early_exit"
    assert command({"exit": 0, "timed_out": False}, forged=["line 4 does not carry the run's seal"])[0] == "tampered"
    assert command({"exit": 0, "timed_out": False},
                   scan_flags=[{"cls": "env", "file": "a.py", "line": 1, "token": "environ", "text": "x"}])[0] \
        == "suspicious"


def test_expected_ids_from_hidden_test_files(tmp_path: Path) -> None:
    hidden = {"test_hidden_x.py": '''
import pytest

def test_plain(): pass
async def test_async(): pass
def helper(): pass

@pytest.mark.skip(reason="no")
def test_skipped(): pass

@pytest.mark.xfail
def test_xfail(): pass

class TestGroup:
    def test_method(self): pass
    class TestNested:
        def test_inner(self): pass

class TestWithInit:
    def __init__(self): pass
    def test_never(self): pass

class Helper:
    def test_not_a_test_class(self): pass
''', "sub/test_other.py": "def test_there(): pass\n", "sub/helpers.py": "def test_not_collected(): pass\n",
              "test_all_skipped.py": "import pytest\npytestmark = pytest.mark.skip\n\ndef test_x(): pass\n"}
    task = load_task(write_task(tmp_path / "task", hidden=hidden))
    assert expected_tests(task) == ExpectedTests((
        "sub/test_other.py::test_there", "test_hidden_x.py::test_plain", "test_hidden_x.py::test_async",
        "test_hidden_x.py::TestGroup::test_method", "test_hidden_x.py::TestGroup::TestNested::test_inner"),
        "hidden tests")
    listed = GOOD_TOML + 'fail_to_pass = ["test_hidden_x.py::test_plain"]\n' \
                         'pass_to_pass = ["sub/test_other.py::test_there", "test_hidden_x.py::test_plain"]\n'
    task = load_task(write_task(tmp_path / "listed", toml=listed, hidden=hidden))
    assert expected_tests(task) == ExpectedTests(("test_hidden_x.py::test_plain", "sub/test_other.py::test_there"),
                                                 "task.toml")
