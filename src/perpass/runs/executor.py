"""Where episodes execute: the seam between the scheduler and whatever runs the work.

The scheduler decides *what* runs and in which order; an Executor decides *where*. Today that is
this process (serially, or on a thread pool for remote routes). A distributed engine (Ray, one
worker per GPU box) can replace it by implementing the same one-method Protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Protocol, TypeVar

Job = TypeVar("Job")


class Executor(Protocol):
    def run_all(self, jobs: Sequence[Job], work: Callable[[Job], None], concurrency: int) -> None:
        """Run `work(job)` for every job, at most `concurrency` at a time, in the given order of start.

        The first exception raised by `work` stops new jobs from starting and is re-raised.
        """
        ...


class InProcessExecutor:
    """Serial in the calling thread for concurrency 1 (local routes), else a thread pool."""

    def run_all(self, jobs: Sequence[Job], work: Callable[[Job], None], concurrency: int) -> None:
        if concurrency <= 1 or len(jobs) <= 1:
            for job in jobs:
                work(job)
            return
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="episode") as pool:
            futures = [pool.submit(work, job) for job in jobs]
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in done:
                if (error := future.exception()) is not None:
                    for f in pending:
                        f.cancel()
                    raise error
