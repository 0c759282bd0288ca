"""The scheduler: plan → cells → episodes, smoke gate first, local routes serial under the OOM guard.

For each route of the plan (in plan order):
1. the **smoke gate** runs on the route's first pending cell: the smoke checks plus one episode
   of the T0 task. A route that fails it is `smoke_failed` and none of its cells run.
2. **local routes** run serially: one server per serving config (n_ctx, kv_type, threads, gguf),
   reused by every cell sharing it, guarded by the OOM watcher.
3. **remote routes** (openai, scripted, oracle) run cell after cell, each cell's episodes on the
   plan's executor (threads in this process, or Ray workers) with the route's `concurrency`.
Episodes go to the executor as picklable jobs (perpass.runs.jobs.EpisodeJob) and come back as
results; only this driver writes the store. An infra result is re-tried in a next wave of the cell.
Within a cell the order is repeat-major (every task once, then every task again...), so a run
stopped early still covers every task. Finished episodes are never run twice; `started` ones are.

Under `allocation: adaptive` the same pass runs in rounds: first N = adaptive.min_repeats for every
cell, then one more repeat of every task per round, only for the (cell, tier) pairs the allocator
(perpass.analysis.allocation.StoreAllocator, handed in by the CLI) keeps racing, up to `repeats`.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from perpass.agent.loop import run_episode
from perpass.agent.types import EpisodeResult, Step, StopReason
from perpass.endpoints.local import ServerFailed
from perpass.endpoints.routes import LiveRoute, open_route
from perpass.errors import UserError
from perpass.hardware import detect_hardware, load_catalog
from perpass.runs.executors import Executor, ThreadExecutor, open_executor
from perpass.runs.factors import serving_key
from perpass.runs.guard import MemoryWatcher, default_floor_bytes, predict_fit, server_died, server_log_oom
from perpass.runs.jobs import EpisodeFn, EpisodeJob, EpisodeRunner
from perpass.runs.plan import CellSpec, Plan
from perpass.runs.progress import QuietProgress, RunProgress
from perpass.runs.smoke import smoke_live
from perpass.runs.store import Store
from perpass.sandbox import SandboxBackend, open_backend
from perpass.tasks import Task, select_tasks

SKIP_STATUSES = frozenset({"oom", "oom_predicted"})  # kept on resume: the same config would hit it again


@dataclass(frozen=True)
class PlannedEpisode:
    cell: CellSpec
    cell_id: int
    task: Task
    repeat: int


class RoundVerdict(Protocol):
    """One (cell, tier) after a round: does it go on, and if not, why (analysis.allocation.Verdict)."""

    @property
    def cell(self) -> str: ...
    @property
    def tier(self) -> str: ...
    @property
    def go_on(self) -> bool: ...
    @property
    def kind(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def episodes(self) -> int: ...


class Allocator(Protocol):
    """Adaptive plans: after a round, which (cell label, tier) pairs go on. Given to the scheduler by
    its caller (the CLI passes analysis.allocation.StoreAllocator), so the runs stage never imports
    the analysis; it reads the store, so a resumed run replays the same rounds."""

    def review(
        self, store_path: Path, run_id: int, repeats_done: int, stopped: frozenset[tuple[str, str]]
    ) -> Sequence[RoundVerdict]: ...


class CellStopped(Exception):
    """The cell cannot go on (out of memory, server gone): its status and why."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_.=" else "-" for ch in text)


def interleaved_jobs(cell: CellSpec, cell_id: int, tasks: list[Task], repeats: int) -> list[PlannedEpisode]:
    """Repeat-major: every task once, then every task again, so an early stop still covers all tasks."""
    return [PlannedEpisode(cell, cell_id, task, r) for r in range(repeats) for task in tasks]


class Scheduler:
    def __init__(
        self,
        plan: Plan,
        store: Store,
        *,
        progress: RunProgress | None = None,
        executor: Executor | None = None,
        episode_fn: EpisodeFn | None = None,
        backend: SandboxBackend | None = None,
        oom_floor_bytes: int | None = None,
        allocator: Allocator | None = None,
    ) -> None:
        self.plan = plan
        self.allocator = allocator
        self.job_filter: Callable[[PlannedEpisode], bool] | None = None  # adaptive rounds: which jobs now
        self.gated: set[str] = set()  # routes whose smoke gate passed in this run (rounds gate once)
        self.gate_failed: set[str] = set()
        self.store = store
        self.progress = progress or QuietProgress()
        self.executor = executor or open_executor(plan.spec.executor)
        self.on_host = ThreadExecutor()  # local routes: serial, beside their server and its OOM watcher
        self.route_of = {c.label: c.route_name for c in plan.cells}
        self.episode_fn = episode_fn or run_episode
        self.backend = backend or open_backend(plan.spec.sandbox)
        floor_mb = plan.spec.oom_floor_mb
        self.floor_bytes = oom_floor_bytes or (int(floor_mb * 2**20) if floor_mb else default_floor_bytes())
        self.log_dir = store.dir / "logs"
        self.run_id = 0
        self.finished: set[tuple[int, str, int]] = set()
        self.cell_ids: dict[str, int] = {}

    # -- the run -----------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        hardware = detect_hardware(load_catalog(), measure=False).to_dict()  # what `perpass hw` shows
        self.run_id = self.store.begin_run(self.plan, hardware)
        self.finished = self.store.finished_keys(self.run_id)
        self.cell_ids = self.store.cell_ids(self.run_id)
        try:
            if self.plan.adaptive is not None:
                self._run_rounds()
            else:
                self._run_routes()
        finally:
            self.progress.close()
            self.executor.close()
        self.store.finish_run(self.run_id)
        return self.store.status(self.run_id)

    def _run_routes(self) -> None:
        for route_name in dict.fromkeys(c.route_name for c in self.plan.cells):
            self._run_route(route_name, [c for c in self.plan.cells if c.route_name == route_name])

    def _run_rounds(self) -> None:
        """Adaptive allocation: every cell to N = min_repeats, then one repeat of every task per round
        for the (cell, tier) pairs still racing. Stopping is final and recorded with its reason."""
        settings = self.plan.adaptive
        assert settings is not None
        if self.allocator is None:
            raise UserError("the plan says 'allocation: adaptive' but no stopping rule was given; use `perpass run`")
        stopped: dict[tuple[str, str], int] = {}  # (cell label, tier) -> N when it stopped
        tiers = sorted({t.tier for t in self.plan.tasks})
        by_label = {c.label: c for c in self.plan.cells}
        for n in range(settings.min_repeats, self.plan.repeats + 1):
            self.job_filter = lambda job, n=n: job.repeat < n and (job.cell.label, job.task.tier) not in stopped
            self.finished = self.store.finished_keys(self.run_id)
            self._run_routes()
            if n == self.plan.repeats:
                break
            verdicts = self.allocator.review(self.store.path, self.run_id, n, frozenset(stopped))
            for v in verdicts:
                if not v.go_on and v.cell in by_label:
                    stopped[(v.cell, v.tier)] = n
                    cell_id = self.cell_ids[by_label[v.cell].config_hash]
                    self.store.record_stop(self.run_id, cell_id, v.tier, n, v.episodes, v.kind, v.reason)
                    self.progress.note(by_label[v.cell].route_name, f"{v.cell} stops on {v.tier} at N={n}: {v.kind}")
            self._mark_stopped(stopped, tiers)
            if all(not v.go_on for v in verdicts):
                break
        self.job_filter = None
        self._mark_stopped(stopped, tiers)

    def _mark_stopped(self, stopped: dict[tuple[str, str], int], tiers: list[str]) -> None:
        """A cell stopped on every tier is `stopped_early`; any stop is named in the cell's reason."""
        for cell in self.plan.cells:
            mine = {t: stopped[(cell.label, t)] for t in tiers if (cell.label, t) in stopped}
            if not mine:
                continue
            cell_id = self.cell_ids[cell.config_hash]
            status, _ = self.store.cell_status(cell_id)
            if status in SKIP_STATUSES or status == "smoke_failed":
                continue
            text = "adaptive: stopped early on " + ", ".join(f"{t} at N={n}" for t, n in mine.items())
            self.store.set_cell_status(cell_id, "stopped_early" if len(mine) == len(tiers) else status, text)

    def _pending(self, cell: CellSpec) -> list[PlannedEpisode]:
        cell_id = self.cell_ids[cell.config_hash]
        status, _ = self.store.cell_status(cell_id)
        if status in SKIP_STATUSES:
            return []
        jobs = interleaved_jobs(cell, cell_id, self.plan.tasks, self.plan.repeats)
        if self.job_filter is not None:
            jobs = [j for j in jobs if self.job_filter(j)]
        return [j for j in jobs if (cell_id, j.task.content_hash, j.repeat) not in self.finished]

    def _run_route(self, route_name: str, cells: list[CellSpec]) -> None:
        if route_name in self.gate_failed:  # an earlier round of this run already refused it
            return
        pending = {c.label: self._pending(c) for c in cells}
        total = len(cells) * len(self.plan.tasks) * self.plan.repeats
        left = sum(len(p) for p in pending.values())
        if left == 0:
            return
        self.progress.route_started(route_name, total, total - left)
        todo = [c for c in cells if pending[c.label]]
        if todo[0].route.starts_server:
            self._run_local(route_name, todo, pending)
        else:
            self._run_remote(route_name, todo, pending)

    def _set_all(self, cells: list[CellSpec], status: str, reason: str) -> None:
        for cell in cells:
            self.store.set_cell_status(self.cell_ids[cell.config_hash], status, reason)

    # -- remote routes -----------------------------------------------------------------------------

    def _run_remote(
        self, route_name: str, cells: list[CellSpec], pending: dict[str, list[PlannedEpisode]]
    ) -> None:
        for i, cell in enumerate(cells):
            started = time.perf_counter()
            try:
                with open_route(cell.route, self.log_dir) as live:
                    if i == 0 and route_name not in self.gated:
                        if (failed := self._gate(route_name, cell, live, started)) is not None:
                            self._set_all(cells, "smoke_failed", failed)
                            self.gate_failed.add(route_name)
                            return
                        self.gated.add(route_name)
                    self._run_cell(cell, live, pending[cell.label], cell.route.concurrency)
            except CellStopped as stop:
                self.store.set_cell_status(self.cell_ids[cell.config_hash], stop.status, stop.reason)

    # -- local routes ------------------------------------------------------------------------------

    def _run_local(
        self, route_name: str, cells: list[CellSpec], pending: dict[str, list[PlannedEpisode]]
    ) -> None:
        groups: dict[str, list[CellSpec]] = {}
        for cell in cells:  # cells keep plan order, so the baseline's server comes first
            groups.setdefault(serving_key(cell.route), []).append(cell)
        gated = route_name in self.gated
        for group in groups.values():
            first = group[0]
            prediction = predict_fit(first.route, self.floor_bytes)
            if not prediction.fits:
                self._set_all(group, "oom_predicted", prediction.reason)
                self.progress.note(
                    route_name, f"{', '.join(c.label for c in group)}: oom_predicted ({prediction.reason})"
                )
                continue
            server_route = first.route.model_copy(update={"name": _slug(first.label)})
            started = time.perf_counter()
            try:
                with open_route(server_route, self.log_dir) as live:
                    assert live.server is not None
                    with MemoryWatcher(live.server, self.floor_bytes) as watcher:
                        if not gated:
                            gate_live = dataclasses.replace(live, route=first.route)
                            if (failed := self._gate(route_name, first, gate_live, started, watcher)) is not None:
                                self._set_all(cells, "smoke_failed", failed)
                                self.gate_failed.add(route_name)
                                return
                            gated = True
                            self.gated.add(route_name)
                        self._run_group(group, live, watcher, pending)
            except ServerFailed as err:
                status = "oom" if err.oom else "server_failed"
                if not gated and not err.oom:
                    self._set_all(cells, "smoke_failed", f"server failed: {err}")
                    self.gate_failed.add(route_name)
                    return
                self._set_all([c for c in group if self._open(c)], status, str(err))

    def _open(self, cell: CellSpec) -> bool:
        status, _ = self.store.cell_status(self.cell_ids[cell.config_hash])
        return status in ("pending", "running", "smoke_failed", "server_failed")

    def _run_group(
        self,
        group: list[CellSpec],
        live: LiveRoute,
        watcher: MemoryWatcher,
        pending: dict[str, list[PlannedEpisode]],
    ) -> None:
        stopped: CellStopped | None = None
        for cell in group:
            if stopped is not None:  # same serving config: it would run out of memory the same way
                self.store.set_cell_status(
                    self.cell_ids[cell.config_hash],
                    stopped.status,
                    f"same serving config as a cell that stopped: {stopped.reason}",
                )
                continue
            try:
                self._run_cell(cell, live, pending[cell.label], 1, watcher)
            except CellStopped as stop:
                self.store.set_cell_status(self.cell_ids[cell.config_hash], stop.status, stop.reason)
                self.progress.note(cell.route_name, f"{cell.label}: {stop.status}: {stop.reason}")
                stopped = stop

    # -- cells and episodes ------------------------------------------------------------------------

    def _run_cell(
        self,
        cell: CellSpec,
        live: LiveRoute,
        planned: list[PlannedEpisode],
        concurrency: int,
        watcher: MemoryWatcher | None = None,
    ) -> None:
        """Waves of jobs: every pending episode, then the infra stops that may be re-tried, and so on."""
        cell_id = self.cell_ids[cell.config_hash]
        self.store.set_cell_status(cell_id, "running")
        executor = self._executor_for(live)
        runner = EpisodeRunner(live, self.backend, self.episode_fn, self._on_step)
        wave = [self._job(p) for p in planned]
        while wave:
            retry: list[EpisodeJob] = []
            results = executor.map(self._starting(wave, live, watcher), runner, concurrency)
            try:
                for job, result in results:
                    if (again := self._finished(job, result, live, watcher)) is not None:
                        retry.append(again)
            finally:
                results.close()  # a stopped cell: the executor stops what still runs
            wave = retry
        self.store.set_cell_status(cell_id, "done")

    def _executor_for(self, live: LiveRoute) -> Executor:
        """A local route's episodes stay on the host of its server (and its OOM watcher), serially."""
        return self.on_host if live.server is not None else self.executor

    def _job(self, planned: PlannedEpisode) -> EpisodeJob:
        return EpisodeJob(
            cell_label=planned.cell.label, cell_id=planned.cell_id, route=planned.cell.route, task=planned.task,
            repeat=planned.repeat, sandbox=self.plan.spec.sandbox,
            episode_dir=Path(),  # named when the attempt starts (_starting): the attempt is in the name
            keep_workspace=self.plan.spec.keep_workspaces,
        )

    def _starting(
        self, jobs: list[EpisodeJob], live: LiveRoute, watcher: MemoryWatcher | None
    ) -> Iterator[EpisodeJob]:
        """Jobs as the executor draws them: each recorded `started` (or re-tried) just before it goes."""
        for job in jobs:
            if live.server is not None and server_died(live.server):
                raise CellStopped(*_server_gone(live, watcher))
            if job.attempt == 1:
                episode_id = self.store.start_episode(job.cell_id, job.task, job.repeat)
                self.progress.episode_started(self.route_of[job.cell_label], job.cell_label, job.task.id, job.repeat)
            else:
                episode_id = job.episode_id
                self.store.retry_episode(episode_id)
            yield dataclasses.replace(job, episode_id=episode_id, episode_dir=self._episode_dir(job))

    def _finished(
        self, job: EpisodeJob, result: EpisodeResult, live: LiveRoute, watcher: MemoryWatcher | None
    ) -> EpisodeJob | None:
        """Store the result, or return the job's next attempt when it is an infra stop to re-try."""
        if live.server is not None and (server_died(live.server) or (watcher and watcher.tripped)):
            status, reason = _server_gone(live, watcher)
            if status == "oom":
                result.stop_reason, result.error = StopReason.OOM, reason
                result.passed = False
            self.store.finish_episode(job.episode_id, result, infra=True)
            self._report(job, result)
            raise CellStopped(status, reason)
        if result.infra and job.attempt <= self.plan.spec.infra_retries:
            return job.next_attempt()
        self.store.finish_episode(job.episode_id, result)
        self._report(job, result)
        return None

    def _on_step(self, job: EpisodeJob, step: Step) -> None:
        self.progress.turn(self.route_of[job.cell_label], job.cell_label, job.task.id, step.index + 1)

    def _episode_dir(self, job: EpisodeJob) -> Path:
        # The pid keeps a resumed attempt clear of what a killed run (or its orphaned children) left.
        return (
            self.store.dir
            / "episodes"
            / f"run{self.run_id}"
            / _slug(job.cell_label)
            / f"{job.task.id}-r{job.repeat}-a{job.attempt}-p{os.getpid()}"
        )

    def _report(self, job: EpisodeJob, result: EpisodeResult) -> None:
        outcome = (
            "pass"
            if result.passed
            else (f"infra:{result.stop_reason}" if result.infra else f"fail:{result.stop_reason}")
        )
        self.progress.episode_finished(
            self.route_of[job.cell_label], job.cell_label, job.task.id, job.repeat, outcome, result.passed,
            result.wall_s,
        )

    # -- the smoke gate ----------------------------------------------------------------------------

    def _gate(
        self,
        route_name: str,
        cell: CellSpec,
        live: LiveRoute,
        started: float,
        watcher: MemoryWatcher | None = None,
    ) -> str | None:
        """Smoke checks plus one T0 episode on the route's first cell; why it failed, None when it passed.

        Records the outcome in the store.
        """
        gate = self.plan.spec.smoke
        if not gate.enabled:
            return None
        smoke = smoke_live(live, started)
        ok, reason, summary = smoke.ok, f"smoke: {smoke.reason}", None
        if ok and gate.episode:
            t0 = smoke_task(self.plan.tasks)
            path = self.store.dir / "gates" / f"run{self.run_id}" / f"{_slug(cell.label)}-p{os.getpid()}"
            job = EpisodeJob(cell_label=cell.label, cell_id=self.cell_ids[cell.config_hash], route=cell.route,
                             task=t0, repeat=0, sandbox=self.plan.spec.sandbox, episode_dir=path,
                             keep_workspace=self.plan.spec.keep_workspaces)
            result = self._gate_episode(job, live)
            summary = result.summary().model_dump(mode="json")
            if watcher is not None and watcher.tripped:
                ok, reason = False, f"out of memory during the T0 episode: {watcher.reason}"
            elif result.infra:
                ok, reason = False, f"T0 episode stopped for infra: {result.stop_reason}: {result.error}"
            elif gate.require_pass and not result.passed:
                ok, reason = False, f"T0 episode failed ({result.stop_reason}) and smoke.require_pass is set"
            else:
                reason = f"smoke ok; T0 episode {'passed' if result.passed else 'ran'} ({result.stop_reason})"
        self.store.record_gate(
            self.run_id, route_name, cell.config_hash, ok, reason, smoke.to_dict(), summary
        )
        self.progress.note(route_name, ("gate passed: " if ok else "smoke_failed: ") + reason)
        return None if ok else reason


    def _gate_episode(self, job: EpisodeJob, live: LiveRoute) -> EpisodeResult:
        """The T0 episode, where the cell's episodes run. A lost worker says nothing about the route:
        re-tried as infra stops of episodes are; any other infra stop fails the gate."""
        runner = EpisodeRunner(live, self.backend, self.episode_fn)
        for attempt in range(1, self.plan.spec.infra_retries + 2):
            ((_, result),) = self._executor_for(live).map([dataclasses.replace(job, attempt=attempt)], runner, 1)
            if result.stop_reason != StopReason.WORKER_LOST:
                break
        return result


def _server_gone(live: LiveRoute, watcher: MemoryWatcher | None) -> tuple[str, str]:
    if watcher is not None and watcher.tripped:
        return "oom", watcher.reason or "out of memory"
    oom_line = server_log_oom(live.server)
    if oom_line:
        return "oom", oom_line
    tail = live.server.log_tail()[-300:] if live.server else ""
    return "server_failed", f"the local server exited; log tail: {tail}"


def smoke_task(tasks: list[Task]) -> Task:
    """The T0 task of the plan, else the built-in one."""
    for task in tasks:
        if task.tier == "T0":
            return task
    return select_tasks(None, ["T0"], None)[0]


def run_plan(
    plan: Plan,
    store: Store,
    *,
    progress: RunProgress | None = None,
    executor: Executor | None = None,
    episode_fn: EpisodeFn | None = None,
    backend: SandboxBackend | None = None,
    oom_floor_bytes: int | None = None,
    allocator: Allocator | None = None,
) -> dict[str, Any]:
    """Run (or resume) every pending episode of the plan; returns `Store.status` of the run.

    An adaptive plan needs `allocator` (the CLI gives analysis.allocation.StoreAllocator)."""
    return Scheduler(
        plan,
        store,
        progress=progress,
        executor=executor,
        episode_fn=episode_fn,
        backend=backend,
        oom_floor_bytes=oom_floor_bytes,
        allocator=allocator,
    ).run()
