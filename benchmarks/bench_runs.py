"""Run-store and scheduler benchmarks. `.venv/bin/python benchmarks/bench_runs.py` prints medians.

1. store writes: step rows per second, each step with its transcript (messages, reply, observation);
2. resume scan: open a 10,000-episode store, register the plan's run, list the finished episodes;
3. remote concurrency: 64 episodes against the scripted server at 200 ms per call, concurrency 8
   vs 1. Episodes here make 3 real HTTP calls each and skip the sandbox, so the figure measures
   the scheduler, executor and store, not bubblewrap on a 2-core machine.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from perpass.agent.types import EpisodeResult, Step
from perpass.endpoints.live import LiveRoute
from perpass.endpoints.usage import Usage
from perpass.runs.plan import ModelPlan, PlanFile, SmokeGate, TaskSelection, resolve_plan
from perpass.runs.scheduler import run_plan
from perpass.runs.store import Store
from perpass.tasks import Task
from perpass.testing import ScriptedServer

STEPS_PER_EPISODE = 20


def fake_result(task_id: str, steps: int) -> EpisodeResult:
    history = [{"role": "user", "content": "Observation:\n" + "line of test output\n" * 40}]
    return EpisodeResult(
        task_id=task_id,
        route="bench",
        stop_reason="submitted",
        passed=True,
        submitted=True,
        turns=steps,
        calls=steps,
        prompt_tokens=1000,
        cached_prompt_tokens=800,
        completion_tokens=100,
        reasoning_tokens=None,
        wall_s=2.0,
        model_s=1.0,
        steps=[
            Step(
                index=i,
                messages_in=history,
                reply="Let me run the tests.\n```bash\npytest -q\n```",
                action="pytest -q",
                observation="....F\n" * 60,
                exit_code=1,
                action_s=0.3,
                harness_s=0.01,
                usage=Usage(prompt_tokens=500, cached_prompt_tokens=400, completion_tokens=40, latency_s=0.5,
                            finish_reason="stop", retries=0),
            )
            for i in range(steps)
        ],
    )


def plan_for(
    repeats: int, route: str = "oracle", routes: dict[str, Any] | None = None, tiers: list[str] | None = None
):
    spec = PlanFile(
        tasks=TaskSelection(tiers=tiers or ["T0", "T1"], limit=1),
        repeats=repeats,
        routes=routes or {},
        smoke=SmokeGate(enabled=False),
        models={"m": ModelPlan(route=route)},
    )
    return resolve_plan(spec, Path.cwd())


def bench_store_writes(folder: Path, episodes: int = 100) -> float:
    plan = plan_for(episodes)
    with Store(folder) as store:
        run_id = store.begin_run(plan)
        cell_id = next(iter(store.cell_ids(run_id).values()))
        task = plan.tasks[0]
        result = fake_result(task.id, STEPS_PER_EPISODE)
        started = time.perf_counter()
        for repeat in range(episodes):
            eid = store.start_episode(cell_id, task, repeat)
            store.finish_episode(eid, result)
        elapsed = time.perf_counter() - started
    return episodes * STEPS_PER_EPISODE / elapsed


def build_big_store(folder: Path, n: int = 10_000) -> Any:
    plan = plan_for(n // 2)  # 2 tasks x 5,000 repeats
    with Store(folder) as store:
        run_id = store.begin_run(plan)
        cell_id = next(iter(store.cell_ids(run_id).values()))
        rows = [
            (cell_id, t.content_hash, t.id, t.tier, r, time.time(), time.time())
            for r in range(n // 2)
            for t in plan.tasks
        ]
        with store.transaction() as db:
            db.executemany(
                "INSERT INTO episodes(cell_id, task_hash, task_id, tier, repeat, status, stop_reason, "
                "passed, started_at, finished_at) VALUES (?, ?, ?, ?, ?, 'finished', 'submitted', 1, ?, ?)",
                rows,
            )
    return plan


def bench_resume_scan(folder: Path, plan: Any) -> float:
    started = time.perf_counter()
    with Store(folder) as store:
        run_id = store.begin_run(plan)
        keys = store.finished_keys(run_id)
    elapsed = time.perf_counter() - started
    assert len(keys) == 10_000, len(keys)
    return elapsed


def http_episode(
    task: Task, live: LiveRoute, sandbox: Any, episode_dir: Path, *, on_step: Any = None
) -> EpisodeResult:
    """Three real calls to the endpoint, no sandbox: isolates scheduling from bubblewrap."""
    assert live.endpoint is not None
    started = time.perf_counter()
    history: list[dict[str, Any]] = [{"role": "user", "content": task.instruction}]
    for _ in range(3):
        reply = live.endpoint.chat(history, max_tokens=32)
        history.append({"role": "assistant", "content": reply.content})
    result = fake_result(task.id, 3)
    result.wall_s = time.perf_counter() - started
    return result


def bench_concurrency(folder: Path, concurrency: int, url: str) -> float:
    routes = {"remote": {"kind": "openai", "base_url": url, "concurrency": concurrency}}
    plan = plan_for(32, route="remote", routes=routes)  # 2 tasks x 32 repeats = 64 episodes
    started = time.perf_counter()
    with Store(folder) as store:
        status = run_plan(plan, store, episode_fn=http_episode)
    assert status["finished"] == 64, status
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        writes = [bench_store_writes(root / f"w{i}") for i in range(3)]
        print(
            f"store writes: median {statistics.median(writes):,.0f} step rows/s "
            f"({STEPS_PER_EPISODE} steps per episode, transcripts included; target >= 2,000)"
        )
        plan = build_big_store(root / "big")
        scans = [bench_resume_scan(root / "big", plan) for _ in range(5)]
        print(
            f"resume scan of a 10,000-episode store: median {statistics.median(scans):.3f} s (target <= 1 s)"
        )
        with ScriptedServer(["```bash\nls\n```"], latency_s=0.2) as server:
            serial = [bench_concurrency(root / f"c1-{i}", 1, server.base_url) for i in range(1)]
            wide = [bench_concurrency(root / f"c8-{i}", 8, server.base_url) for i in range(3)]
        s, w = statistics.median(serial), statistics.median(wide)
        print(
            f"64 episodes x 3 calls at 200 ms: concurrency 1 {s:.1f} s, concurrency 8 {w:.1f} s (median): "
            f"{s / w:.1f}x faster (target >= 6x)"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
