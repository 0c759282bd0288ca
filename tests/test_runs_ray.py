"""The Ray executor against a real local Ray instance (one per module, started here on this host):
the same store as the thread executor, a worker killed mid-episode, the driver SIGKILLed and resumed.

Episodes run the real agent loop in bwrap on the Ray workers; the scripted routes' servers run
inside the workers (each job opens its route where it runs)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import ray
from conftest import PERPASS_CMD, run_perpass
from runs_helpers import finished_rows, kill_after_next_finish, small_tasks, solving_script, started_rows, write_plan

from perpass.runs.executors import RayExecutor, ThreadExecutor
from perpass.runs.executors.ray import CACHE_ENV
from perpass.runs.plan import load_plan
from perpass.runs.scheduler import run_plan
from perpass.runs.store import Store

WORKER_TITLE = "ray::run_on_worker"  # Ray names a worker process after the task it is running


@pytest.fixture(scope="module")
def ray_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local Ray instance with two worker CPUs; workers inherit the environment (PYTHONPATH, the cache)."""
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("ray-task-cache"))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
             object_store_memory=200 * 2**20)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        os.environ.pop(CACHE_ENV, None)


def solver_plan(folder: Path, *, delay_s: float = 0.0, **extra: Any) -> Path:
    """A scripted route that solves T0 and one T1 task (2 workers' worth of concurrency) and the oracle."""
    script = solving_script(small_tasks())
    if delay_s:
        script = [dict(item, replies=[{"content": r, "delay_s": delay_s} for r in item["replies"]])
                  if isinstance(item, dict) else item for item in script]
    routes = {"solver": {"kind": "scripted", "script": script, "concurrency": 2}}
    models = {"solver": {"route": "solver"}, "orc": {"route": "oracle"}}
    return write_plan(folder, models, routes, **extra)  # 2 cells x 2 tasks x 3 repeats = 12 episodes


def store_contents(db_folder: Path) -> dict[str, Any]:
    """What a run stored, without ids, times and paths: the part two executors must agree on."""
    with Store(db_folder, create=False) as store:
        db = store.db
        episodes = db.execute(
            "SELECT c.label, e.task_id, e.repeat, e.status, e.attempts, e.stop_reason, e.ceiling, e.passed,"
            " e.submitted, e.infra, e.turns, e.calls, e.prompt_tokens, e.completion_tokens, e.verdict_reason"
            " FROM episodes e JOIN cells c ON c.id = e.cell_id ORDER BY c.label, e.task_id, e.repeat"
        ).fetchall()
        steps = db.execute(
            "SELECT c.label, e.task_id, e.repeat, s.idx, s.reply, s.action, s.exit_code FROM steps s"
            " JOIN episodes e ON e.id = s.episode_id JOIN cells c ON c.id = e.cell_id"
            " ORDER BY c.label, e.task_id, e.repeat, s.idx"
        ).fetchall()
        calls = db.execute(
            "SELECT c.label, e.task_id, e.repeat, k.idx, k.prompt_tokens, k.completion_tokens FROM calls k"
            " JOIN episodes e ON e.id = k.episode_id JOIN cells c ON c.id = e.cell_id"
            " ORDER BY c.label, e.task_id, e.repeat, k.idx"
        ).fetchall()
        cells = db.execute("SELECT label, status, reason FROM cells ORDER BY label").fetchall()
        gates = db.execute("SELECT route_name, ok FROM gates ORDER BY route_name").fetchall()
        transcripts = [Path(r[0]) for r in db.execute("SELECT transcript FROM episodes").fetchall()]
    return {"episodes": [tuple(r) for r in episodes], "steps": [tuple(r) for r in steps],
            "calls": [tuple(r) for r in calls], "cells": [tuple(r) for r in cells],
            "gates": [tuple(r) for r in gates], "transcripts": transcripts}


@pytest.mark.slow
def test_ray_executor_stores_what_the_thread_executor_stores(tmp_path: Path, ray_address: str) -> None:
    plan = load_plan(solver_plan(tmp_path))
    with Store(tmp_path / "threads") as store:
        by_threads = run_plan(plan, store, executor=ThreadExecutor())
    assert (by_threads["finished"], by_threads["passed"]) == (12, 12)
    with Store(tmp_path / "ray") as store:
        by_ray = run_plan(plan, store, executor=RayExecutor())
    assert (by_ray["planned"], by_ray["finished"], by_ray["passed"], by_ray["infra"]) == (12, 12, 12, 0)
    threads, on_ray = store_contents(tmp_path / "threads"), store_contents(tmp_path / "ray")
    for part in ("episodes", "steps", "calls", "cells", "gates"):
        assert on_ray[part] == threads[part], part
    assert len(on_ray["steps"]) >= 12 * 2
    # The transcripts the workers wrote came back under the driver's store, where threads put them.
    for path in on_ray["transcripts"]:
        assert path.is_relative_to(tmp_path / "ray" / "episodes") and path.is_file(), path
        assert json.loads(path.read_text())["summary"]["passed"] is True


def kill_one_worker_mid_episode(db: Path | None, stop: threading.Event, killed: list[int]) -> None:
    """SIGKILL the first Ray worker of this test process seen running an episode for half a second;
    with `db`, only once the store has an episode row (so not the smoke gate's T0 episode)."""
    me = os.getpid()
    while db is not None and not stop.is_set() and not finished_rows(db) and not started_rows(db):
        time.sleep(0.05)
    while not stop.is_set() and not killed:
        for proc in psutil.process_iter(["pid", "cmdline"]):
            cmdline = proc.info["cmdline"] or []
            if not (cmdline and cmdline[0].startswith(WORKER_TITLE)):
                continue
            try:
                if me not in [p.pid for p in proc.parents()]:  # another Ray than ours: not ours to kill
                    continue
                time.sleep(0.5)
                if proc.cmdline()[0].startswith(WORKER_TITLE):  # still in the episode
                    proc.send_signal(signal.SIGKILL)
                    killed.append(proc.pid)
                    return
            except (psutil.NoSuchProcess, IndexError):
                continue
        time.sleep(0.05)


def run_killing_one_worker(plan_path: Path, store_dir: Path, *, in_gate: bool) -> tuple[dict[str, Any], list[Any]]:
    """Run the plan on Ray while a thread kills one worker mid-episode; the status and episode rows."""
    stop, killed = threading.Event(), []
    watch = None if in_gate else store_dir / "perpass.db"
    killer = threading.Thread(target=kill_one_worker_mid_episode, args=(watch, stop, killed), daemon=True)
    killer.start()
    try:
        with Store(store_dir) as store:
            status = run_plan(load_plan(plan_path), store, executor=RayExecutor())
            rows = store.db.execute("SELECT attempts, infra FROM episodes ORDER BY id").fetchall()
    finally:
        stop.set()
        killer.join(timeout=10)
    assert len(killed) == 1, "no Ray worker was seen running an episode"
    return status, rows


@pytest.mark.slow
def test_a_worker_killed_mid_episode_is_infra_and_re_run_to_exact_counts(tmp_path: Path, ray_address: str) -> None:
    status, attempts = run_killing_one_worker(solver_plan(tmp_path, delay_s=0.4), tmp_path / "runs", in_gate=False)
    assert (status["planned"], status["finished"], status["started"], status["passed"], status["infra"]) == \
        (12, 12, 0, 12, 0)
    assert sorted(a for a, _ in attempts) == [1] * 11 + [2]  # the lost episode ran again, once
    assert all(infra == 0 for _, infra in attempts)


@pytest.mark.slow
def test_driver_sigkilled_then_resumed_on_ray_stores_each_episode_once(tmp_path: Path, ray_address: str) -> None:
    plan = solver_plan(tmp_path, executor="ray")
    store = tmp_path / "runs"
    db = store / "perpass.db"
    cmd = [*PERPASS_CMD, "run", str(plan), "--store", str(store), "--progress", "plain", "--ray-address", ray_address]
    kept: dict[tuple[int, str, int], tuple] = {}
    kills = 0
    for delay in (0.0, 0.6):
        kills += kill_after_next_finish(cmd, db, delay, wait_s=120)
        now = finished_rows(db)
        assert all(now[key] == row for key, row in kept.items()), "a finished episode changed after a kill"
        kept = now
    assert kills == 2 and 0 < len(kept) < 12
    final = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    rows = finished_rows(db)
    assert all(rows[key] == row for key, row in kept.items())
    status = json.loads(subprocess.run([*PERPASS_CMD, "status", "--store", str(store), "--json"],
                                       capture_output=True, text=True, check=True).stdout)
    assert (status["planned"], status["finished"], status["started"], status["passed"], status["infra"]) == \
        (12, 12, 0, 12, 0)
    with Store(store, create=False) as opened:
        total, distinct, runs = opened.db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT cell_id || task_hash || repeat), (SELECT COUNT(*) FROM runs)"
            " FROM episodes").fetchone()
    assert (total, distinct, runs) == (12, 12, 1)


def test_ray_address_without_executor_ray_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    plan = solver_plan(tmp_path)
    done = run_perpass("run", str(plan), "--store", str(tmp_path / "runs"), "--ray-address", "127.0.0.1:1")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].endswith(
        "--ray-address: the plan's executor is 'threads'; add 'executor: ray' to the plan")
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_a_worker_lost_in_the_smoke_gate_re_runs_the_gate_and_the_route_still_runs(
    tmp_path: Path, ray_address: str
) -> None:
    plan = solver_plan(tmp_path, delay_s=0.6, tiers=("T0",))  # the gate's T0 episode is the first to run
    status, attempts = run_killing_one_worker(plan, tmp_path / "runs", in_gate=True)
    assert (status["planned"], status["finished"], status["passed"], status["infra"]) == (6, 6, 6, 0)
    assert [a for a, _ in attempts] == [1] * 6  # the kill hit the gate, not a stored episode
    with Store(tmp_path / "runs", create=False) as store:
        gates = store.db.execute("SELECT route_name, ok FROM gates ORDER BY id").fetchall()
    assert [tuple(g) for g in gates] == [("solver", 1), ("oracle", 1)]


def test_executor_ray_without_the_ray_package_is_one_line_exit_2_nothing_written(tmp_path: Path) -> None:
    plan = solver_plan(tmp_path, executor="ray")
    without_ray = "import sys; sys.modules['ray'] = None; from perpass.cli import main; main()"
    done = subprocess.run([PERPASS_CMD[0], "-c", without_ray, "run", str(plan), "--store", str(tmp_path / "runs")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1].endswith("executor 'ray' needs the ray package: "
                                                          "pip install 'perpass[ray]'")
    assert not (tmp_path / "runs").exists()


def test_a_ray_address_where_nothing_listens_is_one_line_exit_2_nothing_written(tmp_path: Path) -> None:
    plan = solver_plan(tmp_path, executor="ray")
    done = run_perpass("run", str(plan), "--store", str(tmp_path / "runs"), "--ray-address", "127.0.0.1:1")
    assert done.returncode == 2, done.stderr
    assert "--ray-address 127.0.0.1:1: no Ray cluster answers there" in done.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "runs").exists()
