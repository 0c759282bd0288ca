"""Shared by the tests/test_runs_*.py files: scripted routes that solve tasks like the oracle does."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from perpass.tasks import Task, oracle_replies, select_tasks

SMOKE_REPLIES = ["```bash\nls\n```", "```bash\necho hello\n```", "```bash\ncat README.md\n```"]


def solving_script(tasks: list[Task]) -> list[Any]:
    """A ScriptedServer script whose replies play each task's reference solution, then submit.

    Conversations are told apart by the task's instruction (in the first user message); the smoke
    conversation falls through to plain fenced commands.
    """
    blocks: list[Any] = [{"when": t.instruction.strip()[:60], "replies": oracle_replies(t)} for t in tasks]
    return blocks + SMOKE_REPLIES


def small_tasks(limit: int = 1) -> list[Task]:
    """T0 plus the first `limit` T1 tasks."""
    t0 = select_tasks(None, ["T0"], None)
    return t0 + select_tasks(None, ["T1"], None)[:limit]


def write_plan(
    folder: Path,
    models: dict[str, Any],
    routes: dict[str, Any] | None = None,
    *,
    repeats: int = 3,
    limit: int = 1,
    tiers: tuple[str, ...] = ("T0", "T1"),
    **extra: Any,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    plan: dict[str, Any] = {
        "tasks": {"tiers": list(tiers), "limit": limit},
        "repeats": repeats,
        "models": models,
        **extra,
    }
    if routes:
        plan["routes"] = routes
    path = folder / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    return path


def finished_rows(db: Path) -> dict[tuple[int, str, int], tuple]:
    """Finished episodes by (cell, task hash, repeat), read while a run may be writing the store."""
    return episode_rows(db, "finished")


def kill_after_next_finish(cmd: list[str], db: Path, delay_s: float, wait_s: float) -> bool:
    """Start `cmd` (a `perpass run`), SIGKILL it `delay_s` after one more episode finished in `db` (or
    after `wait_s`); True when it was still running to be killed. The kill/resume tests' one step."""
    before = len(finished_rows(db))
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + wait_s
    while proc.poll() is None and len(finished_rows(db)) <= before and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(delay_s)
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    return killed


def started_rows(db: Path) -> dict[tuple[int, str, int], tuple]:
    return episode_rows(db, "started")


def episode_rows(db: Path, status: str) -> dict[tuple[int, str, int], tuple]:
    if not db.exists():
        return {}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        rows = conn.execute(
            "SELECT cell_id, task_hash, repeat, id, stop_reason, passed, turns, calls, finished_at,"
            " transcript FROM episodes WHERE status = ?", (status,)
        ).fetchall()
    except sqlite3.OperationalError:  # tables not created yet
        return {}
    finally:
        conn.close()
    return {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}
