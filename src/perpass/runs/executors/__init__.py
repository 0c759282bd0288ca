"""Where episodes execute: the seam between the scheduler and whatever runs the work.

The scheduler decides *what* runs and in which order and is the only writer of the store; an
Executor decides *where*. It takes picklable jobs (perpass.runs.jobs.EpisodeJob) and hands back
each job with its EpisodeResult as it finishes. Kinds by name, one file each: `threads` (this
process; the default) and `ray` (workers of a Ray cluster, docs/ray.md).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from typing import Protocol

from perpass.agent.types import EpisodeResult
from perpass.errors import UserError
from perpass.runs.executors.ray import RayExecutor
from perpass.runs.executors.threads import ThreadExecutor
from perpass.runs.jobs import EpisodeJob, EpisodeRunner


class Executor(Protocol):
    def map(
        self, jobs: Iterable[EpisodeJob], runner: EpisodeRunner, concurrency: int
    ) -> Generator[tuple[EpisodeJob, EpisodeResult], None, None]:
        """Run every job, at most `concurrency` at a time, and yield each with its result as it finishes.

        Jobs are drawn from `jobs` only when a slot is free (the scheduler records an episode as
        started when it hands it over). `runner` runs a job in this process on the driver's open route;
        an executor that runs jobs elsewhere builds the same runner there from the job and uses only
        `runner.episode_fn`. Closing the iterator early stops the jobs still running.
        """
        ...

    def close(self) -> None:
        """Give back what the executor started (a Ray instance it started itself)."""
        ...


EXECUTORS: dict[str, type[Executor]] = {
    "threads": ThreadExecutor,
    "ray": RayExecutor,
}
DEFAULT_EXECUTOR = "threads"


def open_executor(name: str = DEFAULT_EXECUTOR, *, ray_address: str | None = None) -> Executor:
    """The executor called `name`; UserError (exit 2) for an unknown one or one that cannot start here."""
    if name not in EXECUTORS:
        raise UserError(f"unknown executor '{name}'; choose one of: {', '.join(EXECUTORS)}")
    if ray_address is not None and name != "ray":
        raise UserError(f"--ray-address: the plan's executor is '{name}'; add 'executor: ray' to the plan")
    options = {"address": ray_address} if ray_address is not None else {}
    return EXECUTORS[name](**options)


__all__ = ["DEFAULT_EXECUTOR", "EXECUTORS", "Executor", "RayExecutor", "ThreadExecutor", "open_executor"]
