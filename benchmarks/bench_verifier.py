"""Verification overhead of the hardened verifier on the real bwrap session, beyond the hidden tests' own
run (target <= 200 ms median), and the checkout bomb (refused in seconds, host disk untouched).

On t1-off-by-one-range with the fix, committed and pushed by git inside a real agent session and read
out with collect_delivery (as the agent loop does). Interleaved rounds in one run:

  baseline  the hidden tests alone: pytest on a checkout that already holds tests_hidden/, one command
            in a verifier session that is already running (the old verifier's hardened command line)
  hardened  perpass.verifier.sandboxed.verify, all of it: session start, put, materialise, scan, the
            pytest run with sentinels, audit hook and integrity checks, sealed records, session close

Overhead = hardened - baseline, per round; medians reported with the load average. Wall time inflates
with the machine's load; the CPU time of the session's commands is not measured here (they run in
another pid namespace, as another user), so quote the ratio of medians measured in the same run.

Then the checkout bomb (two 1 GiB files of zeros, a ~1 MB push): seconds until `oversized`, and how much
free space the host's filesystems lost meanwhile (statvfs), against the verifier session's quota.

Run: .venv/bin/python benchmarks/bench_verifier.py [ROUNDS]"""

from __future__ import annotations

import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from verifier_helpers import (  # noqa: E402
    COMMIT_AND_PUSH,
    backend,
    deliver_by,
    file_tar,
    push_objects,
    verifier_session,
)
from verifier_tricks import TRICKS  # noqa: E402

from perpass.sandbox import Session, SessionSpec  # noqa: E402
from perpass.tasks import Task, select_tasks  # noqa: E402
from perpass.verifier import VerifierLimits  # noqa: E402
from perpass.verifier.sandboxed import session_limits, verify  # noqa: E402

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 15
FIX = "sed -i 's/per_page))/per_page) + 1)/' pagination.py"
# The hidden tests alone, as the verifier before issue 11 ran them (pytest hardened by its flags only).
BASELINE = ("python -P -m pytest -q -p no:cacheprovider -c /dev/null --rootdir=. --confcutdir=tests_hidden "
            '-o pythonpath="$PWD" tests_hidden')


def session_cpu(session: Session) -> float:
    """CPU seconds (user + system) of every process the session's supervisor has reaped or sees alive:
    what a command cost, whatever the machine's load does to its wall time."""
    reply, _ = session._request({"op": "usage"})  # type: ignore[attr-defined]
    return float(reply["cpu_s"])


class Timed:
    """A real session whose requests are timed (start is timed by TimedBackend)."""

    def __init__(self, session: Session, times: dict[str, float]) -> None:
        self.session, self.times = session, times

    def __getattr__(self, name: str) -> object:
        return getattr(self.session, name)

    def _timed(self, name: str, call, *args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            self.times[name] = self.times.get(name, 0.0) + time.perf_counter() - started

    def put_tar(self, dest: str, data: bytes) -> None:
        self._timed("put", self.session.put_tar, dest, data)

    def run(self, command: str, timeout_s: float, *, channel: bool = False):  # type: ignore[no-untyped-def]
        cpu = session_cpu(self.session)
        try:
            return self._timed("run", self.session.run, command, timeout_s, channel=channel)
        finally:
            self.times["run_cpu"] = session_cpu(self.session) - cpu

    def close(self) -> None:
        self._timed("close", self.session.close)


class TimedBackend:
    def __init__(self) -> None:
        self.real, self.name, self.times = backend(), backend().name, {}

    def start(self, spec: SessionSpec) -> Timed:
        self.times = {}
        started = time.perf_counter()
        session = self.real.start(spec)
        self.times["start"] = time.perf_counter() - started
        return Timed(session, self.times)


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.1f} ms (min {min(values) * 1000:6.1f}, n={len(values)})"


def baseline_session(task: Task, session: Session) -> str:
    """The fixed checkout with tests_hidden/ in it, inside a running verifier session; the command."""
    checkout = f"{session.paths.tmp}/baseline"
    files = {p.relative_to(task.repo).as_posix(): p.read_bytes() for p in task.repo.rglob("*") if p.is_file()}
    files["pagination.py"] = files["pagination.py"].replace(b"per_page))", b"per_page) + 1)")
    files |= {f"tests_hidden/{p.relative_to(task.tests).as_posix()}": p.read_bytes()
              for p in task.tests.rglob("*") if p.is_file()}
    session.put_tar(checkout, file_tar(files))
    return f"cd {shlex.quote(checkout)} && {BASELINE}"


def overhead(task: Task) -> None:
    delivery = deliver_by(task, FIX, COMMIT_AND_PUSH)
    timed = TimedBackend()
    rows: dict[str, list[float]] = {k: [] for k in ("baseline", "total", "start", "put", "run", "close",
                                                    "materialise", "scan", "tests", "cpu_baseline", "cpu_run")}
    with verifier_session() as session:
        command = baseline_session(task, session)
        for i in range(ROUNDS + 1):  # round 0 warms the caches and is not counted
            cpu = session_cpu(session)
            started = time.perf_counter()
            result = session.run(command, 120)
            baseline = time.perf_counter() - started
            cpu_baseline = session_cpu(session) - cpu
            assert result.exit_code == 0, result.output
            started = time.perf_counter()
            verdict = verify(task, delivery, timed)
            total = time.perf_counter() - started
            assert verdict.passed, (verdict.reason, verdict.detail)
            if i == 0:
                continue
            rows["baseline"].append(baseline)
            rows["cpu_baseline"].append(cpu_baseline)
            rows["cpu_run"].append(timed.times["run_cpu"])
            rows["total"].append(total)
            for key in ("start", "put", "run", "close"):
                rows[key].append(timed.times[key])
            rows["materialise"].append(verdict.timings.materialise_s)
            rows["scan"].append(verdict.timings.scan_s)
            rows["tests"].append(verdict.timings.tests_s)
    over = [t - b for t, b in zip(rows["total"], rows["baseline"], strict=True)]
    in_run = [r - b for r, b in zip(rows["run"], rows["baseline"], strict=True)]
    print(f"verifier overhead on bwrap, {ROUNDS} interleaved rounds, load average before "
          f"{', '.join(f'{x:.2f}' for x in LOAD_BEFORE)}")
    print(f"  baseline: hidden tests alone (one command)   {ms(rows['baseline'])}")
    print(f"  hardened: sandboxed.verify, all of it        {ms(rows['total'])}")
    print(f"    session start                             {ms(rows['start'])}")
    print(f"    put (delivery, repo, hidden, config)      {ms(rows['put'])}")
    print(f"    run_tests.py (one command)                {ms(rows['run'])}")
    print(f"      materialise (in the kit)                {ms(rows['materialise'])}")
    print(f"      scan (in the kit)                       {ms(rows['scan'])}")
    print(f"    session close                             {ms(rows['close'])}")
    print(f"  run_tests.py - baseline                      {ms(in_run)}   (materialise, scan, sentinels, audit,"
          " integrity)")
    print(f"  OVERHEAD (hardened - baseline)               {ms(over)}   target <= 200 ms")
    cpu_over = [r - b for r, b in zip(rows["cpu_run"], rows["cpu_baseline"], strict=True)]
    print(f"  CPU (user+sys) of the command: baseline {ms(rows['cpu_baseline'])}, run_tests.py {ms(rows['cpu_run'])}")
    print(f"  CPU OVERHEAD of run_tests.py                 {ms(cpu_over)}   (what load does not inflate)")
    ratio = statistics.median(rows["total"]) / statistics.median(rows["baseline"])
    print(f"  ratio of medians hardened / baseline         {ratio:.2f}x")


def free_bytes() -> dict[str, int]:
    found = {}
    for path in ("/", "/tmp", "/var"):
        stats = os.statvfs(path)
        found[path] = stats.f_bavail * stats.f_frsize
    return found


def checkout_bomb(task: Task) -> None:
    bomb = next(t for t in TRICKS if t.name == "checkout-bomb")
    with tempfile.TemporaryDirectory(prefix="perpass-bench-bomb-") as scratch:
        work = Path(scratch) / "work"
        work.mkdir()
        (work / "pagination.py").write_bytes((task.repo / "pagination.py").read_bytes())
        delivery = push_objects(task, bomb.apply(work))  # type: ignore[arg-type]
    quota = session_limits(VerifierLimits()).quota_bytes
    times, drops = [], []
    for _ in range(3):
        before = free_bytes()
        started = time.perf_counter()
        verdict = verify(task, delivery, backend())
        times.append(time.perf_counter() - started)
        after = free_bytes()
        assert verdict.reason == "oversized", (verdict.reason, verdict.detail)
        drops.append(max(before[p] - after[p] for p in before))
    print(f"checkout bomb: a {len(delivery.data) / 1e6:.1f} MB push of 2 x 1 GiB of zeros -> oversized in "
          f"{ms(times)}")
    print(f"  largest drop of free space on /, /tmp, /var during one verification: {max(drops) / 1e6:.1f} MB "
          f"(the verifier session's quota: {quota / 1e6:.0f} MB; the episode's tmpfs live in memory)")


LOAD_BEFORE = os.getloadavg()


def main() -> None:
    task = select_tasks(None, None, ["t1-off-by-one-range"])[0]
    overhead(task)
    checkout_bomb(task)
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
