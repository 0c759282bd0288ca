"""The verdict: pass or fail, one reason, and the evidence behind it (stored with the episode)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Reason = Literal[
    "passed",
    "tests_failed",  # a required test failed, errored, was skipped or xfailed
    "tampered",  # a sentinel, the integrity check or a record's seal says the run was rewritten
    "suspicious",  # the static scan or the audit hook flagged code the task does not allow
    "oversized",  # the delivered tree breaks a cap (size, file count, depth, path length)
    "missing_results",  # fewer results than expected tests
    "early_exit",  # the test process ended before its finish record
    "duplicate_result",  # one test id reported twice
    "timeout",  # materialising, scanning or the hidden tests ran out of time
    "unreadable_tree",  # the delivery could not be turned into a tree (corrupt, submodule, conflict)
    "no_delivery",  # push delivery and the remote has no main
]
Outcome = Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]


class TestOutcome(BaseModel):
    __test__ = False  # a data model, not a pytest test class
    nodeid: str
    outcome: Outcome
    duration_s: float = 0.0
    message: str = ""
    required: bool = True  # one of the expected ids (FAIL_TO_PASS / PASS_TO_PASS, or every hidden test)


class Evidence(BaseModel):
    """One finding: a flag (static scan or audit hook), a tamper sign, a dropped file, a collection error."""

    kind: Literal["scan", "audit", "tamper", "dropped", "collect_error"]
    where: str  # file:line, a path, or a test id
    detail: str
    cls: str | None = None  # flag class (docs/verifier.md), for scan and audit flags
    allowed: bool = False  # the task's `allow` list covers this flag class


class Timings(BaseModel):
    materialise_s: float = 0.0
    scan_s: float = 0.0
    tests_s: float = 0.0  # the hardened pytest run, sentinels and checks included
    total_s: float = 0.0


class Verdict(BaseModel):
    passed: bool
    reason: Reason
    detail: str = ""  # one line: why
    # tests: per-test records, sentinels, integrity checks, audit hook. command: the task's own
    # test_command, judged by its exit code alone (no per-test records, no sentinels, no audit).
    method: Literal["tests", "command"] = "tests"
    delivered: bool = True  # the delivered tree differs from the initial repository
    tests: list[TestOutcome] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)  # expected ids without a result
    evidence: list[Evidence] = Field(default_factory=list)
    output: str = ""  # pytest's output, trimmed: for people, never for the verdict
    timings: Timings = Field(default_factory=Timings)


class InfraError(RuntimeError):
    """The sandbox session itself failed (or the kit could not start): not the delivery's fault."""
