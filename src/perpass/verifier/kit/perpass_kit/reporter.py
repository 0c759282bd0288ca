"""The reporter plugin: one sealed record per test outcome, streamed as each test finishes.

Besides the outcome pytest reports, each record says whether the test function was really called
(seen by our own pytest_pyfunc_call wrapper, registered first), whether it raised, and whether the
function called was the one collected from the hidden test file. A runner rewritten to report
"passed" without running the test, or after the test raised, is caught by comparing the two.
The plugin also orders the sentinel tests last and lends the must-pass sentinel the integrity check.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import pytest
from _pytest.unittest import TestCaseFunction

from .channel import Channel
from .integrity import Baseline


@dataclass(frozen=True)
class Sentinels:
    """Node ids of the sentinel tests the host wrote (random names)."""

    must_error: str
    must_fail: str
    must_pass: str

    @property
    def in_order(self) -> list[str]:
        return [self.must_error, self.must_fail, self.must_pass]


def short_message(report: Any) -> str:
    longrepr = report.longrepr
    if longrepr is None:
        return ""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
        return str(longrepr[2])
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return str(crash.message)
    return str(longrepr)[-1000:]


def outcome_of(reports: list[Any]) -> tuple[str, str]:
    """One outcome per test from its setup/call/teardown reports, as junit-xml counts them."""
    by_phase = {report.when: report for report in reports}
    call = by_phase.get("call")
    for report in reports:
        if report.skipped:
            return ("xfailed" if hasattr(report, "wasxfail") else "skipped"), short_message(report)
    if call is not None and call.failed:
        return "failed", short_message(call)
    for report in reports:
        if report.failed:
            return "error", short_message(report)
    if call is None:
        return "error", "the test was never called"
    if hasattr(call, "wasxfail"):
        return "xpassed", ""
    return "passed", ""


class Reporter:
    def __init__(self, channel: Channel | None, baseline: Baseline, sentinels: Sentinels) -> None:
        self.channel = channel
        self.baseline = baseline
        self.sentinels = sentinels
        self.reports: dict[str, list[Any]] = {}
        self.calls: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, tuple[Any, Any]] = {}
        self.tests = 0

    def pytest_addoption(self, parser: Any) -> None:
        # The debugging plugin is off (run_tests.UNUSED_PLUGINS), but pytest's unittest support still reads
        # its two options: without them every unittest.TestCase test errors ("no option named 'trace'").
        group = parser.getgroup("perpass")
        group.addoption("--trace", dest="trace", action="store_true", default=False)
        group.addoption("--pdb", dest="usepdb", action="store_true", default=False)

    def send(self, kind: str, **fields: Any) -> None:
        if self.channel is not None:
            self.channel.send(kind, **fields)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: Any) -> None:
        # After every pytest_sessionstart (the fixture manager registers there), before the first
        # test module, hence the first repository module, is imported.
        self.baseline.capture(session.config.pluginmanager)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: Any) -> None:
        # The last look, after every test and before pytest's own unconfigure undoes its patches.
        self.send("integrity", problems=self.baseline.problems(full=False))

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session: Any, config: Any, items: list[Any]) -> None:
        rank = {nodeid: i for i, nodeid in enumerate(self.sentinels.in_order)}
        items.sort(key=lambda item: rank.get(item.nodeid, -1))  # stable: others keep their order
        for item in items:
            self.codes[item.nodeid] = self.codes_of(item)
        self.send("collected", count=len(items))

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.send("collect_error", nodeid=report.nodeid, message=short_message(report))

    def codes_of(self, item: Any) -> tuple[Any, Any]:
        """(the collected function's code, the code of the hidden test function it runs): they differ
        when the hidden file wraps its test in unittest.mock's patch decorator."""
        function = getattr(item, "obj", None)
        return code_of(function), self.baseline.tests.code_called(function)

    def record_call(self, item: Any) -> dict[str, Any]:
        outer, called = self.codes_of(item)
        expected_outer, expected_called = self.codes.get(item.nodeid, (None, None))
        info: dict[str, Any] = {"ran": True, "raised": None,
                                "code_ok": called is not None and called is expected_called
                                and outer is expected_outer}
        self.calls[item.nodeid] = info
        return info

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: Any) -> Generator[None, Any, Any]:
        info = self.record_call(pyfuncitem)
        try:
            return (yield)
        except BaseException as exc:
            info["raised"] = type(exc).__name__
            raise

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_call(self, item: Any) -> Generator[None, Any, Any]:
        # A unittest.TestCase method never goes through pytest_pyfunc_call: unittest calls it, and reports
        # its failures to pytest as a result object, not by raising.
        if isinstance(item, TestCaseFunction):
            self.record_call(item)
        return (yield)

    def pytest_runtest_logreport(self, report: Any) -> None:
        self.reports.setdefault(report.nodeid, []).append(report)

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        reports = self.reports.pop(nodeid, [])
        outcome, message = outcome_of(reports)
        call = self.calls.pop(nodeid, {"ran": False, "raised": None, "code_ok": False})
        self.tests += 1
        self.send("test", nodeid=nodeid, outcome=outcome, message=message,
                  duration=round(sum(r.duration for r in reports), 6), **call)

    @pytest.fixture(name="perpass_integrity")
    def integrity_fixture(self) -> Callable[[], list[str]]:
        return self.baseline.problems


def code_of(function: Any) -> Any:
    function = getattr(function, "__func__", function)
    return getattr(function, "__code__", None)
