"""Timing helpers for the benchmarks (run as scripts: `python benchmarks/bench_x.py` puts this folder on
sys.path, so `from _timing import ...` works): time a callable a few times, print the median."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timings(fn: Callable[[], object], repeats: int) -> list[float]:
    """Wall seconds of each of `repeats` calls of `fn`."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.1f} ms (min {min(values) * 1000:.1f}, n={len(values)})"


def bench(name: str, fn: Callable[[], object], repeats: int = 7) -> list[float]:
    """Time `fn` and print one line: name, median, min, n. Returns the timings."""
    times = timings(fn, repeats)
    print(f"{name:<40} median {median_ms(times)}")
    return times
