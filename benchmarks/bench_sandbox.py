"""Sandbox benchmark: median wall time of a sandboxed `true` and of create_workspace.

Run: .venv/bin/python benchmarks/bench_sandbox.py [--runs N]
Targets (issue 3): sandboxed `true` <= 15 ms, create_workspace <= 150 ms. This machine is shared
and noisy, so medians are printed, with the spread (p10-p90) for context."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from perpass.sandbox import Sandbox, create_workspace, task_python


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
    return (f"median {statistics.median(samples) * 1000:7.1f} ms   "
            f"p10 {deciles[0] * 1000:6.1f}   p90 {deciles[-1] * 1000:6.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    task_python()  # the one-time venv build is not what we measure
    with tempfile.TemporaryDirectory(prefix="perpass-bench-sandbox-") as scratch:
        folder = Path(scratch)
        repo = make_repo(folder)
        setup: list[float] = []
        for index in range(runs):
            started = time.perf_counter()
            workspace = create_workspace(repo, folder / f"episode-{index}")
            setup.append(time.perf_counter() - started)
        sandbox = Sandbox()
        sandbox.run("true", workspace, 10)  # warm-up
        true_runs: list[float] = []
        for _ in range(runs):
            started = time.perf_counter()
            result = sandbox.run("true", workspace, 10)
            true_runs.append(time.perf_counter() - started)
            assert result.exit_code == 0 and result.error is None, result
        pytest_runs: list[float] = []
        for _ in range(max(3, runs // 6)):
            started = time.perf_counter()
            sandbox.run("python -c pass", workspace, 30)
            pytest_runs.append(time.perf_counter() - started)
    print(f"sandboxed `true`      ({runs} runs): {spread(true_runs)}   target <= 15 ms")
    print(f"create_workspace      ({runs} runs): {spread(setup)}   target <= 150 ms")
    print(f"sandboxed `python -c pass` ({len(pytest_runs)} runs): "
          f"median {statistics.median(pytest_runs) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
