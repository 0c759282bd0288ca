"""The default executor: jobs run in this process, serially for concurrency 1 (local routes), else
on a thread pool (remote routes, whose episodes mostly wait on the endpoint)."""

from __future__ import annotations

from collections.abc import Generator, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from perpass.agent.types import EpisodeResult
from perpass.runs.jobs import EpisodeJob, EpisodeRunner


class ThreadExecutor:
    def map(
        self, jobs: Iterable[EpisodeJob], runner: EpisodeRunner, concurrency: int
    ) -> Generator[tuple[EpisodeJob, EpisodeResult], None, None]:
        if concurrency <= 1:
            for job in jobs:
                yield job, runner(job)
            return
        source = iter(jobs)
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="episode") as pool:
            running: dict[Future[EpisodeResult], EpisodeJob] = {}
            try:
                while True:
                    while len(running) < concurrency and (queued := next(source, None)) is not None:
                        running[pool.submit(runner, queued)] = queued
                    if not running:
                        return
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        yield running.pop(future), future.result()
            finally:  # stopped early (an error, a stopped cell): start nothing more, let the running end
                for future in running:
                    future.cancel()

    def close(self) -> None:
        pass
