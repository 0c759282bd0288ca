"""Turn the kit's reports and the run's sealed records into a Verdict.

Reasons, strongest first: tampered (a record without the seal, a sentinel with the wrong outcome,
an integrity problem, a test reported passed that was never called or raised) > suspicious (a
flag the task does not allow) > timeout > early_exit > duplicate_result > missing_results >
tests_failed > passed. Nothing here reads pytest's exit code or output.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from perpass.sandbox import CommandResult
from perpass.verifier.expected import ExpectedTests, base_id
from perpass.verifier.records import OutcomeRecord, RunRecords
from perpass.verifier.sentinel import Sentinel
from perpass.verifier.verdict import Evidence, InfraError, Reason, TestOutcome, Verdict

PASSING = frozenset({"passed", "xpassed"})


OUTPUT_HEAD_CHARS = 2000
OUTPUT_TAIL_CHARS = 6000  # pytest puts the summary last: keep more of the end


def trim(output: str) -> str:
    """The tests' output for people (never for the verdict): head and tail kept."""
    if len(output) <= OUTPUT_HEAD_CHARS + OUTPUT_TAIL_CHARS:
        return output
    dropped = len(output) - OUTPUT_HEAD_CHARS - OUTPUT_TAIL_CHARS
    return f"{output[:OUTPUT_HEAD_CHARS]}\n[... {dropped} characters cut ...]\n{output[-OUTPUT_TAIL_CHARS:]}"


def fail(reason: Reason, detail: str, **fields: Any) -> Verdict:
    return Verdict(passed=False, reason=reason, detail=detail, **fields)


def dropped_evidence(records: RunRecords) -> list[Evidence]:
    evidence = [Evidence(kind="dropped", where=path, detail=why) for path, why in records.dropped]
    more = int((records.materialise or {}).get("dropped_count") or 0) - len(evidence)
    if more > 0:
        evidence.append(Evidence(kind="dropped", where="...", detail=f"{more} more files dropped"))
    return evidence


def scan_evidence(records: RunRecords) -> list[Evidence]:
    return [Evidence(kind="scan", cls=str(f.get("cls")), where=f"{f.get('file')}:{f.get('line')}",
                     detail=f"{f.get('token')}: {f.get('text')}") for f in records.scan_flags]


def judge_run(records: RunRecords, result: CommandResult, expected: ExpectedTests, sentinel: Sentinel,
              allow: tuple[str, ...], *, command: bool = False) -> Verdict:
    """The verdict of one verification run: the materialise and scan stages, then the tests (or, with
    command, the exit code of the task's own test command).

    Whatever the delivered content makes a stage do (time out, crash, refuse) is the delivery's
    failure; only the session failing, or the kit not starting at all, is infra."""
    if result.error is not None:
        raise InfraError(f"the verifier session failed: {result.error}")
    if result.lost:
        # The session died under the kit, with the delivery's bytes or code in it (the records went with
        # it). Nothing inside can kill the session by design (sandbox promise), so this is the delivery's
        # doing as far as anyone can tell: a fail, like `session_lost` for the agent's own session.
        return fail("early_exit", f"the verifier's session was lost while it ran ({result.output.strip()[-200:]})")
    if not records.started:
        raise InfraError(f"the verifier kit did not start (exit {result.exit_code}): {result.output.strip()[-300:]}")
    for stage, report in (("materialise", records.materialise), ("scan", records.scan)):
        if report is None:
            if records.timeout == stage or result.timed_out:
                return fail("timeout", f"the {stage} stage ran out of time")
            return fail("unreadable_tree", f"the {stage} stage ended without a report (exit {result.exit_code}): "
                                           f"{result.output.strip()[-300:]}")
        if stage == "materialise" and report.get("status") == "oversized":
            return fail("oversized", f"the delivered tree is over a cap: {report.get('detail')}", delivered=True)
        if stage == "materialise" and report.get("status") != "ok":
            return fail("unreadable_tree", str(report.get("detail") or "the delivery could not be read"))
        if report.get("error"):
            return fail("unreadable_tree", f"scanning the delivery failed: {report['error']}",
                        evidence=dropped_evidence(records))
    found = [*dropped_evidence(records), *scan_evidence(records)]
    verdict = (command_verdict(records, result, allow, found) if command
               else run_verdict(records, result, expected, sentinel, allow, found))
    verdict.delivered = bool((records.scan or {}).get("changed")) or bool(records.dropped)
    return verdict


def sentinel_problems(sentinel: Sentinel, by_id: dict[str, list[OutcomeRecord]], results_complete: bool) -> list[str]:
    """Sentinels reported with the wrong outcome. A sentinel never reported counts only when every
    expected test has a result (someone deselected the sentinels); when the session was cut short
    (an import raising SystemExit ends pytest) the missing hidden results fail the delivery anyway."""
    problems = []
    for name, expected in ((sentinel.must_fail, "failed"), (sentinel.must_error, "error"),
                           (sentinel.must_pass, "passed")):
        found = by_id.get(sentinel.nodeid(name))
        if not found:
            if results_complete:
                problems.append(f"the {expected} sentinel was never reported")
            continue
        record = found[-1]
        if record.outcome != expected:
            problems.append(f"the sentinel that must end {expected} was reported {record.outcome}: "
                            f"{record.message[:200]}")
        elif expected == "failed" and sentinel.nonce not in record.message:
            problems.append("the failing sentinel's message lost its nonce")
        elif expected == "passed" and (not record.ran or record.raised or not record.code_ok):
            problems.append("the passing sentinel was reported passed without running")
    return problems


def forged_evidence(records: RunRecords) -> list[Evidence]:
    """Records that reached the kit's channel without its key (something in the test process wrote them)."""
    return [Evidence(kind="tamper", where="channel", detail=why) for why in records.forged]


def flagged_verdict(evidence: list[Evidence], **base: Any) -> Verdict | None:
    """`tampered` on any sign of tampering, else `suspicious` on any scan or audit flag the task does not
    allow; None when neither. Both verdict methods judge these first, the same way."""
    tampered = [e for e in evidence if e.kind == "tamper"]
    if tampered:
        return fail("tampered", f"{tampered[0].where}: {tampered[0].detail}", evidence=evidence, **base)
    flagged = [e for e in evidence if e.kind in ("scan", "audit") and not e.allowed]
    if flagged:
        classes = ", ".join(sorted({str(e.cls) for e in flagged}))
        return fail("suspicious", f"{len(flagged)} flag(s) of class {classes}; first: {flagged[0].where} "
                                  f"{flagged[0].detail}", evidence=evidence, **base)
    return None


def run_tamper_signs(records: RunRecords, sentinel: Sentinel, results_complete: bool) -> list[Evidence]:
    signs = forged_evidence(records)
    by_id: dict[str, list[OutcomeRecord]] = {}
    for record in records.tests:
        by_id.setdefault(record.nodeid, []).append(record)
    signs += [Evidence(kind="tamper", where="sentinel", detail=p)
              for p in sentinel_problems(sentinel, by_id, records.finished and results_complete)]
    if records.finished and records.integrity is None:
        signs.append(Evidence(kind="tamper", where="integrity", detail="the final integrity check never reported"))
    signs += [Evidence(kind="tamper", where="integrity", detail=p) for p in records.integrity or []]
    for record in records.tests:
        if record.outcome not in PASSING:
            continue
        why = ("was reported passed but never called" if not record.ran
               else f"was reported passed although it raised {record.raised}" if record.raised
               else "ran a function other than the one collected from the hidden test file" if not record.code_ok
               else None)
        if why:
            signs.append(Evidence(kind="tamper", where=record.nodeid, detail=why))
    return signs


def audit_evidence(records: RunRecords) -> list[Evidence]:
    return [Evidence(kind="audit", cls=f.cls, where=f.where, detail=f"{f.event} {f.detail}".strip())
            for f in records.flags]


def with_allow(evidence: list[Evidence], allow: Iterable[str]) -> list[Evidence]:
    """Mark the flags of the classes the task allows: kept as evidence, not held against the delivery."""
    allowed = set(allow)
    return [e.model_copy(update={"allowed": e.cls in allowed}) if e.kind in ("scan", "audit") else e
            for e in evidence]


def outcomes(records: RunRecords, expected: ExpectedTests, sentinel: Sentinel) -> list[TestOutcome]:
    sentinels = set(sentinel.nodeids.values())
    required = set(expected.ids)
    return [TestOutcome(nodeid=r.nodeid, outcome=r.outcome, duration_s=r.duration, message=r.message[:1000],
                        required=r.nodeid in required or base_id(r.nodeid) in required)
            for r in records.tests if r.nodeid not in sentinels]


def results_for(expected_id: str, tests: list[TestOutcome]) -> list[TestOutcome]:
    if "[" in expected_id:
        return [t for t in tests if t.nodeid == expected_id]
    return [t for t in tests if base_id(t.nodeid) == expected_id]


def run_verdict(records: RunRecords, result: CommandResult, expected: ExpectedTests, sentinel: Sentinel,
                allow: tuple[str, ...], evidence: list[Evidence]) -> Verdict:
    """The verdict of the hardened pytest run; `evidence` holds what materialise and scan found."""
    if result.error is not None:
        raise InfraError(f"the verifier session failed while running the hidden tests: {result.error}")
    if not records.started:
        raise InfraError("the test runner never started (no start record); output: "
                         f"{result.output.strip()[-300:]}")
    tests = outcomes(records, expected, sentinel)
    missing = [e for e in expected.ids if not results_for(e, tests)]
    evidence = with_allow([*evidence, *run_tamper_signs(records, sentinel, not missing), *audit_evidence(records)],
                          allow)
    evidence += [Evidence(kind="collect_error", where=nodeid, detail=message[:500])
                 for nodeid, message in records.collect_errors]
    flagged = flagged_verdict(evidence, tests=tests, missing=missing, output=trim(result.output))
    if flagged is not None:
        return flagged
    base = {"tests": tests, "evidence": evidence, "missing": missing, "output": trim(result.output)}
    if not records.finished:
        if result.timed_out or records.timeout:
            return fail("timeout", "the hidden tests ran out of time", **base)
        return fail("early_exit", f"the test process ended before its finish record ({ended_how(result)})", **base)
    duplicates = [nodeid for nodeid, n in Counter(t.nodeid for t in records.tests).items() if n > 1]
    if duplicates:
        return fail("duplicate_result", f"{duplicates[0]} was reported {len(duplicates)} times", **base)
    if not expected.ids:  # nothing required would pass anything: never a pass
        return fail("missing_results", "the hidden tests define no test perpass recognises (test_* functions, "
                                       "Test* classes, unittest.TestCase subclasses)", **base)
    if missing:
        if records.collect_errors:
            nodeid, message = records.collect_errors[0]
            return fail("tests_failed", f"collecting {nodeid} failed: {message[:300]}", **base)
        return fail("missing_results", f"{len(missing)} expected test(s) without a result, e.g. {missing[0]}", **base)
    for expected_id in expected.ids:
        bad = [t for t in results_for(expected_id, tests) if t.outcome not in PASSING]
        if bad:
            skipped = bad[0].outcome in ("skipped", "xfailed")
            what = "was skipped where a pass was required" if skipped else bad[0].outcome
            return fail("tests_failed", f"{bad[0].nodeid} {what}: {bad[0].message[:300]}", **base)
    return Verdict(passed=True, reason="passed", detail=f"all {len(expected.ids)} required tests passed", **base)


def ended_how(result: CommandResult) -> str:
    return f"killed ({result.killed_by})" if result.killed_by else f"exit code {result.exit_code}"


EXIT_CODE_ONLY = ("an exit-code verdict: the task's own test_command, without per-test records, sentinels or "
                  "an audit of the tested code")


def command_verdict(records: RunRecords, result: CommandResult, allow: tuple[str, ...],
                    evidence: list[Evidence]) -> Verdict:
    """The verdict of a task with its own test_command: its exit code, sealed by the kit (which the
    command cannot reach), after the same materialise and scan as every delivery. Weaker than the
    per-test run: the command's own processes decide the exit code, and nothing watches them."""
    evidence = with_allow([*evidence, *forged_evidence(records), *audit_evidence(records)], allow)
    flagged = flagged_verdict(evidence, output=trim(result.output))
    if flagged is not None:
        return flagged
    base = {"evidence": evidence, "output": trim(result.output)}
    ran = records.command
    if ran is None:
        if result.timed_out or records.timeout:
            return fail("timeout", f"the test command ran out of time ({EXIT_CODE_ONLY})", **base)
        return fail("early_exit", f"the verifier ended before the test command's exit code was reported "
                                  f"({ended_how(result)})", **base)
    if ran.get("timed_out"):
        return fail("timeout", f"the test command ran out of its {ran.get('budget')} s ({EXIT_CODE_ONLY})", **base)
    if ran.get("exit") != 0:
        return fail("tests_failed", f"the test command exited {ran.get('exit')} ({EXIT_CODE_ONLY})", **base)
    return Verdict(passed=True, reason="passed", detail=f"the test command exited 0 ({EXIT_CODE_ONLY})", **base)
