"""SIGKILL the runner at 10 points, resume each time: every planned episode ends up stored exactly once."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import PERPASS_CMD
from runs_helpers import finished_rows, kill_after_next_finish, small_tasks, solving_script, write_plan

KILL_DELAYS_S = [0.0, 0.35, 0.1, 0.5, 0.2, 0.0, 0.3, 0.15, 0.45, 0.05]  # after the k-th new episode


@pytest.mark.slow
def test_sigkill_at_ten_points_then_resume_stores_each_planned_episode_once(tmp_path: Path) -> None:
    routes = {"solver": {"kind": "scripted", "script": solving_script(small_tasks())}}
    models = {"solver": {"route": "solver", "factors": {"max_turns": [8]}}}
    plan = write_plan(tmp_path, models, routes)  # 2 cells x 2 tasks x 3 repeats = 12 episodes
    store = tmp_path / "runs"
    db = store / "perpass.db"
    cmd = [*PERPASS_CMD, "run", str(plan), "--store", str(store), "--progress", "plain"]
    kept: dict[tuple[int, str, int], tuple] = {}
    kills = 0
    for delay in KILL_DELAYS_S:
        kills += kill_after_next_finish(cmd, db, delay, wait_s=60)
        now = finished_rows(db)
        for key, row in kept.items():
            assert now[key] == row, "an episode finished before a kill changed after resuming"
        kept = now
    assert kills >= 8  # the plan must not have finished before most kill points
    final = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    assert "smoke_failed" not in final.stdout, final.stdout
    rows = finished_rows(db)
    for key, row in kept.items():
        assert rows[key] == row
    conn = sqlite3.connect(db)
    total, distinct, started = conn.execute(
        "SELECT COUNT(*), COUNT(DISTINCT cell_id || task_hash || repeat), SUM(status = 'started') "
        "FROM episodes"
    ).fetchone()
    assert (total, distinct, started) == (12, 12, 0)
    assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
    assert conn.execute("SELECT SUM(passed) FROM episodes").fetchone()[0] == 12
    # Steps belong only to finished episodes, and exactly once each (no leftovers of killed attempts).
    orphan = conn.execute(
        "SELECT COUNT(*) FROM steps s JOIN episodes e ON e.id = s.episode_id "
        "GROUP BY s.episode_id, s.idx HAVING COUNT(*) > 1"
    ).fetchall()
    assert orphan == []
    conn.close()
    status = subprocess.run(
        [*PERPASS_CMD, "status", "--store", str(store), "--json"], capture_output=True, text=True
    )
    data = json.loads(status.stdout)
    assert (data["planned"], data["finished"], data["started"], data["infra"]) == (12, 12, 0, 0)
    assert [c["status"] for c in data["cells"]] == ["done", "done"]
