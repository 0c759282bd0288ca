"""Verification overhead of the hardened verifier beyond the hidden tests' own run (target <= 200 ms
median): materialise + scan + sentinels + audit hook + integrity checks, on t1-off-by-one-range with
the fix pushed. Interleaved rounds in one run, on the test-only HostSession (plain processes; the
bwrap session adds its own per-command cost to both sides).

  baseline  the hidden tests alone: `python -P -m pytest` on the checkout with tests_hidden/ in it
            (the previous verifier's command), one session command
  hardened  verify_delivery: materialise.py, scan.py, run_tests.py (three session commands)

Run: .venv/bin/python benchmarks/bench_verifier.py [ROUNDS]"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from verifier_helpers import HostSession, push, start_repo  # noqa: E402

from perpass.tasks import select_tasks  # noqa: E402
from perpass.tasks.model import default_test_command  # noqa: E402
from perpass.verifier import verify_delivery  # noqa: E402

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 15


def children_cpu() -> float:
    """User + system seconds of every finished child process so far (the session's commands)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.1f} ms (min {min(values) * 1000:6.1f}, n={len(values)})"


def main() -> None:
    task = select_tasks(None, None, ["t1-off-by-one-range"])[0]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        work = start_repo(task.repo, root / "work")
        source = work / "pagination.py"
        source.write_text(source.read_text().replace("per_page))", "per_page) + 1)"))
        delivery = push(work)
        checkout = root / "baseline-checkout"
        shutil.copytree(work, checkout, ignore=shutil.ignore_patterns(".git"))
        shutil.copytree(task.tests, checkout / task.hidden_dir)
        baseline_session = HostSession(root / "baseline-session")
        python = str(HostSession.layout(root).python)
        command = f"cd {checkout} && {default_test_command(task.hidden_dir).replace('python ', python + ' ', 1)}"

        baseline, total, materialise, scan, tests, cpu_baseline, cpu_total = [], [], [], [], [], [], []
        for i in range(ROUNDS + 1):  # round 0 warms the caches and is not counted
            cpu = children_cpu()
            started = time.perf_counter()
            result = baseline_session.run(command, 120)
            elapsed = time.perf_counter() - started
            cpu_baseline.append(children_cpu() - cpu)
            assert result.exit_code == 0, result.output
            session = HostSession(root / f"session-{i}")
            cpu = children_cpu()
            verdict = verify_delivery(task, delivery, session, layout=HostSession.layout(session.root))
            cpu_total.append(children_cpu() - cpu)
            session.close()
            assert verdict.passed, (verdict.reason, verdict.detail)
            if i == 0:
                cpu_baseline.pop()
                cpu_total.pop()
                continue
            baseline.append(elapsed)
            total.append(verdict.timings.total_s)
            materialise.append(verdict.timings.materialise_s)
            scan.append(verdict.timings.scan_s)
            tests.append(verdict.timings.tests_s)

    overhead = [t - b for t, b in zip(total, baseline, strict=True)]
    in_run = [t - b for t, b in zip(tests, baseline, strict=True)]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"verifier overhead, {ROUNDS} interleaved rounds, load average {load}")
    print(f"  baseline (hidden tests alone)      {ms(baseline)}")
    print(f"  hardened verify_delivery (total)   {ms(total)}")
    print(f"    materialise.py                   {ms(materialise)}")
    print(f"    scan.py                          {ms(scan)}")
    print(f"    run_tests.py                     {ms(tests)}")
    print(f"  run_tests.py - baseline            {ms(in_run)}   (sentinels, audit hook, integrity, reporter)")
    print(f"  OVERHEAD (total - baseline)        {ms(overhead)}   target <= 200 ms")
    cpu_overhead = [t - b for t, b in zip(cpu_total, cpu_baseline, strict=True)]
    print(f"  CPU time of the session commands: baseline {ms(cpu_baseline)}, hardened {ms(cpu_total)}")
    print(f"  CPU OVERHEAD (hardened - baseline) {ms(cpu_overhead)}   (user+sys: what load does not inflate)")


if __name__ == "__main__":
    main()
