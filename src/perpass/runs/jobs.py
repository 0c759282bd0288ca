"""An episode to run as plain data (EpisodeJob), and how one process runs it (EpisodeRunner).

A job holds everything a worker needs and nothing open: the task, the cell's full route config, the
sandbox backend's name, where the episode's files go. It pickles, so an executor can send it to a
thread, another process or another machine; whatever runs it hands back an EpisodeResult and only
the scheduler (the driver) writes the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from perpass.agent.loop import run_episode
from perpass.agent.types import EpisodeResult, Step, StopReason
from perpass.endpoints.kinds import Route
from perpass.endpoints.live import LiveRoute
from perpass.errors import UserError
from perpass.sandbox import SandboxBackend
from perpass.tasks import Task

EpisodeFn = Callable[..., EpisodeResult]  # run_episode(task, live, backend, episode_dir, *, on_step=None)
StepHook = Callable[["EpisodeJob", Step], None]


@dataclass(frozen=True)
class EpisodeJob:
    """One attempt at one episode of a cell. The repeat is the sample's index; a route's sampling
    seed, when it has one, is part of `route` (a factor like any other)."""

    cell_label: str
    cell_id: int
    route: Route  # the cell's full config, not the plan's route name
    task: Task
    repeat: int
    sandbox: str  # a backend name (perpass.sandbox.backends.BACKENDS): opened where the job runs
    episode_dir: Path  # on the driver; an executor that runs elsewhere copies the files back here
    episode_id: int = 0  # the store's row, set by the scheduler when the episode starts
    attempt: int = 1
    keep_workspace: bool = False

    def next_attempt(self) -> EpisodeJob:
        return replace(self, attempt=self.attempt + 1)


def infra_result(task: Task, route: str, stop: StopReason, error: str) -> EpisodeResult:
    """An episode that never got going, through no fault of the model."""
    return EpisodeResult(
        task_id=task.id,
        route=route,
        stop_reason=stop,
        passed=False,
        submitted=False,
        turns=0,
        calls=0,
        prompt_tokens=None,
        cached_prompt_tokens=None,
        completion_tokens=None,
        reasoning_tokens=None,
        wall_s=0.0,
        model_s=0.0,
        error=error,
    )


@dataclass(frozen=True)
class EpisodeRunner:
    """Runs jobs in this process on a route that is already open (the driver's, or a worker's own)."""

    live: LiveRoute
    backend: SandboxBackend
    episode_fn: EpisodeFn = run_episode
    on_step: StepHook | None = None  # per-turn progress; only executors that run in this process call it

    def __call__(self, job: EpisodeJob, episode_dir: Path | None = None) -> EpisodeResult:
        """Run the job's episode; a crash of the episode function is infra, a wrong plan or route
        (UserError) is raised."""
        hook = self.on_step
        live = replace(self.live, route=job.route)  # a local server's cells share it, each with its config
        keep: dict[str, Any] = {"keep_workspace": True} if job.keep_workspace else {}
        try:
            return self.episode_fn(job.task, live, self.backend, episode_dir or job.episode_dir,
                                   on_step=(lambda step: hook(job, step)) if hook else None, **keep)
        except UserError:
            raise  # the plan or route is wrong: say so, do not record it as infra
        except Exception as err:  # run_episode promises not to raise; if it does, it is not the model's fault
            error = f"episode crashed: {type(err).__name__}: {err}"
            return infra_result(job.task, job.route.name, StopReason.SANDBOX_ERROR, error)
