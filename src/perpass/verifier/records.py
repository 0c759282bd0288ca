"""Reading what the kit sent on the channel: sealed records from run_tests.py (which materialises,
scans and runs the tests in one process), and the plain JSON reports of the standalone
materialise.py and scan.py scripts (no repository code runs in those)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from perpass.verifier.kit.perpass_kit.channel import unseal


def plain_report(channel: bytes, kind: str) -> dict[str, Any] | None:
    """The last JSON object of that kind on the channel, or None."""
    found = None
    for line in channel.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("kind") == kind:
            found = record
    return found


@dataclass(frozen=True)
class OutcomeRecord:
    nodeid: str
    outcome: str
    message: str
    duration: float
    ran: bool  # our pytest_pyfunc_call wrapper saw the test function called
    raised: str | None  # the exception type it saw, if any
    code_ok: bool  # the function called was the one collected from the hidden test file


@dataclass(frozen=True)
class AuditFlag:
    cls: str
    event: str
    where: str
    detail: str


@dataclass
class RunRecords:
    started: bool = False
    finished: bool = False
    materialise: dict[str, Any] | None = None  # the materialiser's report (status, detail, counts, seconds)
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    scan: dict[str, Any] | None = None  # the scan's report (changed, scanned, flags_count, seconds)
    scan_flags: list[dict[str, Any]] = field(default_factory=list)
    timeout: str | None = None  # the stage the watchdog ended
    tests_started: bool = False
    tests: list[OutcomeRecord] = field(default_factory=list)
    flags: list[AuditFlag] = field(default_factory=list)
    collect_errors: list[tuple[str, str]] = field(default_factory=list)
    integrity: list[str] | None = None
    command: dict[str, Any] | None = None  # a command task's result: exit code, timed_out, seconds
    aborted: str | None = None
    forged: list[str] = field(default_factory=list)  # why lines were refused: any one means tampered


TEST_OUTCOMES = frozenset({"passed", "failed", "error", "skipped", "xfailed", "xpassed"})


def read_run(channel: bytes, key: bytes) -> RunRecords:
    """Every line must carry the run's seal and the next sequence number; nothing may follow finish."""
    records = RunRecords()
    lines = channel.split(b"\n")
    if lines and lines[-1]:
        records.forged.append("the channel ends in an unterminated line")
    expected_seq = 0
    for number, line in enumerate(lines[:-1], 1):
        record = unseal(key, line)
        if record is None:
            records.forged.append(f"line {number} of the channel does not carry the run's seal: {line[:80]!r}")
            continue
        if record.get("seq") != expected_seq:
            records.forged.append(f"record {record.get('seq')!r} arrived where {expected_seq} was due")
        expected_seq += 1
        if records.finished:
            records.forged.append(f"a record ({record.get('kind')}) arrived after finish")
            continue
        take(records, record)
    return records


def take(records: RunRecords, record: dict[str, Any]) -> None:
    kind = record.get("kind")
    if kind == "start":
        records.started = True
    elif kind == "dropped":
        records.dropped.append((str(record.get("path")), str(record.get("why"))))
    elif kind == "materialise":
        records.materialise = record
    elif kind == "scan_flag":
        records.scan_flags.append(record)
    elif kind == "scan":
        records.scan = record
    elif kind == "tests_started":
        records.tests_started = True
    elif kind == "timeout":
        records.timeout = str(record.get("stage"))
    elif kind == "test":
        outcome = str(record.get("outcome"))
        records.tests.append(OutcomeRecord(
            nodeid=str(record.get("nodeid")), outcome=outcome if outcome in TEST_OUTCOMES else "error",
            message=str(record.get("message", "")), duration=float(record.get("duration") or 0.0),
            ran=record.get("ran") is True, raised=record.get("raised"), code_ok=record.get("code_ok") is True))
    elif kind == "flag":
        records.flags.append(AuditFlag(str(record.get("cls")), str(record.get("event")), str(record.get("where")),
                                       str(record.get("detail", ""))))
    elif kind == "collect_error":
        records.collect_errors.append((str(record.get("nodeid")), str(record.get("message", ""))))
    elif kind == "integrity":
        records.integrity = [str(p) for p in record.get("problems") or []]
    elif kind == "command":
        records.command = record
    elif kind == "aborted":
        records.aborted = str(record.get("error"))
    elif kind == "finish":
        records.finished = True
