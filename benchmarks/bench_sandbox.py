"""Sandbox benchmark: session start, a command inside a session, and the seed.

Run: .venv/bin/python benchmarks/bench_sandbox.py [--runs N] [--backend bwrap|none]
Targets (issue 10): sandboxed `true` inside a session <= 3 ms median; session start (seed unpacked)
<= 50 ms median. This machine is shared and noisy: medians are printed with the spread (p10-p90)
and the load average at the start and the end."""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from perpass.sandbox import Limits, SessionSpec, open_backend, prepare_seed, task_python


def make_repo(folder: Path) -> Path:
    """A task-sized repository: a small package, its tests, a README."""
    repo = folder / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "tests").mkdir()
    for index in range(8):
        (repo / "pkg" / f"module_{index}.py").write_text(f"def f{index}(x):\n    return x + {index}\n" * 20)
        (repo / "tests" / f"test_module_{index}.py").write_text(f"from pkg.module_{index} import f{index}\n")
    (repo / "README.md").write_text("# bench repo\n")
    return repo


def spread(samples: list[float]) -> str:
    deciles = statistics.quantiles(samples, n=10)
    return (f"median {statistics.median(samples) * 1000:7.2f} ms   "
            f"p10 {deciles[0] * 1000:6.2f}   p90 {deciles[-1] * 1000:6.2f}")


def host_reference(runs: int) -> list[float]:
    """What one shell costs on this machine right now, unsandboxed: the floor a busy machine sets."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        pid = os.posix_spawn("/bin/bash", ["/bin/bash", "--noprofile", "--norc", "-c", "true"], {})
        os.waitpid(pid, 0)
        samples.append(time.perf_counter() - started)
    return samples


def cpu_per_command(session, runs: int = 200) -> str:  # type: ignore[no-untyped-def]
    """CPU time per `true`: the supervisor's own, its shells' (reaped children) and the host client's."""
    def cpu(pid: int) -> tuple[float, float]:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick
    if session.host_pid is None:
        return "n/a (the backend does not tell the supervisor's pid)"
    own0, kids0 = cpu(session.host_pid)
    host0 = time.process_time()
    for _ in range(runs):
        session.run("true", 10)
    own1, kids1 = cpu(session.host_pid)
    host = (time.process_time() - host0) / runs * 1000
    return (f"supervisor {(own1 - own0) / runs * 1000:.2f} ms + shell {(kids1 - kids0) / runs * 1000:.2f} ms"
            f" + host {host:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--backend", default="bwrap")
    args = parser.parse_args()
    runs = args.runs
    load_before = os.getloadavg()
    task_python()  # the one-time venv build is not what we measure
    backend = open_backend(args.backend)
    with tempfile.TemporaryDirectory(prefix="perpass-bench-sandbox-") as scratch:
        repo = make_repo(Path(scratch))
        started = time.perf_counter()
        seed = prepare_seed(repo)
        seed_s = time.perf_counter() - started
    spec = SessionSpec(Limits(), seed=seed)
    backend.start(spec).close()  # warm-up: the kit copy and the task Python are built once
    starts: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        session = backend.start(spec)
        starts.append(time.perf_counter() - started)
        session.close()
    session = backend.start(spec)
    try:
        session.run("true", 10)
        true_runs: list[float] = []  # back to back: the next request arrives as the last reply leaves
        spaced_runs: list[float] = []  # 20 ms apart, as when a model call sits between two commands
        for index in range(runs * 6):
            if index % 2:
                time.sleep(0.02)
            started = time.perf_counter()
            result = session.run("true", 10)
            (spaced_runs if index % 2 else true_runs).append(time.perf_counter() - started)
            assert result.exit_code == 0 and result.error is None, result
        cpu_ms = cpu_per_command(session)
        python_runs: list[float] = []
        for _ in range(max(3, runs // 6)):
            started = time.perf_counter()
            session.run("python -c pass", 30)
            python_runs.append(time.perf_counter() - started)
    finally:
        session.close()
    host = host_reference(runs * 3)
    print(f"backend {args.backend}; load average {load_before[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end")
    print(f"`true` in a session, back to back   ({len(true_runs)} runs): {spread(true_runs)}   target <= 3 ms")
    print(f"`true` in a session, 20 ms apart    ({len(spaced_runs)} runs): {spread(spaced_runs)}")
    print(f"reference, same run: `bash -c true` spawned on the host ({len(host)} runs): {spread(host)}")
    print(f"CPU per `true` (supervisor, shell, host client; load-independent): {cpu_ms}")
    print(f"session start + seed  ({runs} runs): {spread(starts)}   target <= 50 ms")
    print(f"seed build (once per task, cached): {seed_s * 1000:.1f} ms")
    print(f"`python -c pass` in a session ({len(python_runs)} runs): "
          f"median {statistics.median(python_runs) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
