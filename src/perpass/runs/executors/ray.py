"""The Ray executor: episodes of remote routes run as Ray tasks on the workers of a Ray cluster.

How the parts reach a worker (docs/ray.md):
- **tasks** through Ray's object store: the driver packs each task folder once (a tar, `ray.put`);
  a worker unpacks it once per node into a cache named by the task's content hash, loads it there
  and checks the hash, so no shared file system is needed and a changed task can never be mixed in;
- **the route** inside the job (its full config): the worker opens it itself (an endpoint client,
  or its own scripted server); API keys come from the worker's environment, named by `api_key_env`;
- **the episode's files** (transcript, kept workspace) come back with the result as a tar and are
  written under the driver's store, where the thread executor would have put them.

A worker that dies mid-episode (killed, out of memory, its node lost) gives an infra episode
(`worker_lost` or `oom`), which the scheduler re-runs as it re-runs any infra stop. Ray's own task
retries are off so that every attempt is counted in the store.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import socket
import tarfile
import tempfile
from collections.abc import Generator, Iterable
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from perpass.agent.types import EpisodeResult, StopReason
from perpass.endpoints.routes import open_route
from perpass.errors import UserError
from perpass.runs.jobs import EpisodeFn, EpisodeJob, EpisodeRunner, infra_result
from perpass.sandbox import SandboxBackend, open_backend
from perpass.tasks import Task
from perpass.tasks.model import IGNORED_PARTS, load_task

NO_RAY = "executor 'ray' needs the ray package: pip install 'perpass[ray]'"
TASK_CACHE = "perpass-ray-tasks"  # under the worker's temp folder, one sub-folder per content hash
CACHE_ENV = "PERPASS_RAY_TASK_CACHE"  # a worker's own cache folder instead (set where the worker starts)


class RayExecutor:
    """`address`: a running cluster ("ray://head:10001", "127.0.0.1:6379", "auto"); None connects to
    RAY_ADDRESS when set, else starts a local Ray instance (stopped again by close()).
    `num_cpus`: Ray CPUs each episode reserves, which bounds the episodes a worker node runs at once."""

    def __init__(self, address: str | None = None, num_cpus: float = 1.0) -> None:
        try:
            import ray  # noqa: F401  (checked here: a plan that names ray fails before anything is written)
        except ImportError:
            raise UserError(NO_RAY) from None
        self.address = address
        self.num_cpus = num_cpus
        self.started_ray = False
        self.packs: dict[str, Any] = {}  # task content hash -> ObjectRef of its tar
        self._connect()  # now, so that a cluster that is not there is refused before the store is written

    def _connect(self) -> None:
        import ray

        if ray.is_initialized():
            return
        if self.address and self.address != "auto":
            check_reachable(self.address)
        local: dict[str, Any] = {"include_dashboard": False} if self.address is None else {}  # Ray Client refuses it
        try:
            ray.init(address=self.address, log_to_driver=False, logging_level=logging.WARNING, **local)
        except ConnectionError as err:
            raise UserError(f"--ray-address {self.address}: cannot connect to a Ray cluster: {err}") from None
        self.started_ray = True

    @cache  # noqa: B019  (one per executor, which lives as long as the run)
    def _remote(self) -> Any:
        import ray

        return ray.remote(run_on_worker).options(num_cpus=self.num_cpus, max_retries=0, retry_exceptions=False)

    def _pack(self, task: Task) -> Any:
        import ray

        if task.content_hash not in self.packs:
            self.packs[task.content_hash] = ray.put(pack_folder(task.root))
        return self.packs[task.content_hash]

    def map(
        self, jobs: Iterable[EpisodeJob], runner: EpisodeRunner, concurrency: int
    ) -> Generator[tuple[EpisodeJob, EpisodeResult], None, None]:
        import ray

        remote = self._remote()
        source = iter(jobs)
        running: dict[Any, EpisodeJob] = {}
        try:
            while True:
                while len(running) < max(1, concurrency) and (job := next(source, None)) is not None:
                    # The pack's ref goes inside a list so Ray does not fetch it: a worker that has the
                    # task cached already never downloads it again.
                    running[remote.remote(job, [self._pack(job.task)], runner.episode_fn)] = job
                if not running:
                    return
                done, _ = ray.wait(list(running), num_returns=1)
                for ref in done:
                    job = running.pop(ref)
                    yield job, collect(ref, job)
        finally:  # stopped early: the jobs still running are cancelled, their workers stopped
            for ref in running:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        import ray

        self.packs.clear()
        if self.started_ray and ray.is_initialized():
            ray.shutdown()
        self.started_ray = False


def check_reachable(address: str) -> None:
    """Refuse at once an address where nothing listens (Ray itself retries for minutes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except (OSError, ValueError) as err:
        raise UserError(f"--ray-address {address}: no Ray cluster answers there ({err})") from None


def collect(ref: Any, job: EpisodeJob) -> EpisodeResult:
    """The job's result, its files written under the driver's episode folder; a lost worker is infra."""
    import ray
    from ray import exceptions as rx

    try:
        result: EpisodeResult
        result, files = ray.get(ref)
    except rx.RayTaskError as err:  # perpass itself raised on the worker
        cause = getattr(err, "cause", None)
        if isinstance(cause, UserError):
            raise UserError(str(cause)) from None
        return infra_result(job.task, job.route.name, StopReason.SANDBOX_ERROR,
                            f"episode crashed on the Ray worker: {type(cause).__name__}: {cause}")
    except rx.OutOfMemoryError as err:  # Ray's memory monitor killed the worker
        return infra_result(job.task, job.route.name, StopReason.OOM, f"Ray worker out of memory: {first_line(err)}")
    except rx.RayError as err:  # the worker process or its node died, the result was lost
        return infra_result(job.task, job.route.name, StopReason.WORKER_LOST,
                            f"Ray worker lost mid-episode: {type(err).__name__}: {first_line(err)}")
    unpack(files, job.episode_dir)
    if result.transcript:
        result.transcript = str(job.episode_dir / Path(result.transcript).name)
    return result


def first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [""])[0][:300]


# -- on the worker -------------------------------------------------------------------------------


def run_on_worker(job: EpisodeJob, pack: list[Any], episode_fn: EpisodeFn) -> tuple[EpisodeResult, bytes]:
    """A Ray task: open the job's route here, run the episode in its own sandbox, hand back the result
    and the episode's files. Never writes the store."""
    job = replace(job, task=cached_task(job.task, pack[0]))  # the same task, at its path on this node
    scratch = Path(tempfile.mkdtemp(prefix="perpass-episode-"))
    try:
        with open_route(job.route, scratch / "logs") as live:
            result = EpisodeRunner(live, worker_backend(job.sandbox), episode_fn)(job, scratch / "episode")
        folder = scratch / "episode"
        return result, pack_folder(folder) if folder.is_dir() else b""
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@cache
def worker_backend(name: str) -> SandboxBackend:
    """One backend per worker process and name: it builds the task Python once, not per episode."""
    return open_backend(name)


def cached_task(task: Task, pack_ref: Any) -> Task:
    """The task loaded from this node's cache, unpacked from the object store on first use."""
    import ray

    root = Path(os.environ.get(CACHE_ENV) or Path(tempfile.gettempdir()) / TASK_CACHE)
    folder = root / task.content_hash
    if not folder.is_dir():
        root.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{task.content_hash[:12]}-", dir=root))
        unpack(ray.get(pack_ref), partial)
        try:
            partial.rename(folder)  # atomic: another worker of this node may have won the race
        except OSError:
            shutil.rmtree(partial, ignore_errors=True)
    loaded = load_task(folder)
    if loaded.content_hash != task.content_hash:
        raise RuntimeError(f"task {task.id}: the unpacked copy's content hash differs from the driver's")
    return loaded


# -- folders as bytes ----------------------------------------------------------------------------


def pack_folder(folder: Path) -> bytes:
    """A folder as an uncompressed tar (links kept as links), Python byproducts left out."""
    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        return None if IGNORED_PARTS.intersection(Path(info.name).parts) else info

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for entry in sorted(os.listdir(folder)):
            tar.add(folder / entry, arcname=entry, filter=keep)
    return buffer.getvalue()


def unpack(data: bytes, folder: Path) -> None:
    """Unpack a tar made by pack_folder; the `data` filter refuses absolute paths and links leaving `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    if not data:
        return
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        tar.extractall(folder, filter="data")
