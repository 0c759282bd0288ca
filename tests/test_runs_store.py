"""The run store: schema version guard, started→finished in one transaction, resume scan, status."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import PERPASS_CMD

from perpass.agent.types import EpisodeResult, Step
from perpass.endpoints.usage import Usage
from perpass.errors import UserError
from perpass.runs.plan import ModelPlan, PlanFile, TaskSelection, resolve_plan
from perpass.runs.store import SCHEMA_VERSION, Store
from perpass.runs.summary import plan_overview


def small_plan(tmp_path: Path, repeats: int = 3):  # noqa: ANN201
    spec = PlanFile(
        tasks=TaskSelection(tiers=["T0", "T1"], limit=1),
        repeats=repeats,
        models={"orc": ModelPlan(route="oracle", factors={"max_turns": [9]})},
    )
    return resolve_plan(spec, tmp_path)


def result(task_id: str, steps: int = 2, passed: bool = True) -> EpisodeResult:
    return EpisodeResult(
        task_id=task_id,
        route="r",
        stop_reason="submitted",
        passed=passed,
        submitted=True,
        turns=steps,
        calls=steps,
        prompt_tokens=10 * steps,
        cached_prompt_tokens=None,
        completion_tokens=3 * steps,
        reasoning_tokens=None,
        wall_s=1.5,
        model_s=0.5,
        steps=[
            Step(
                index=i,
                messages_in=[{"role": "user", "content": "x" * 50}],
                reply="```bash\nls\n```",
                action="ls",
                observation="file.py",
                exit_code=0,
                usage=Usage(prompt_tokens=10, completion_tokens=3, latency_s=0.2, retries=0),
            )
            for i in range(steps)
        ],
    )


def test_episode_started_then_finished_with_calls_and_steps(tmp_path: Path) -> None:
    plan = small_plan(tmp_path)
    with Store(tmp_path / "store") as store:
        run_id = store.begin_run(plan)
        assert store.begin_run(plan) == run_id  # same plan: same run (resume)
        cell_id = store.cell_ids(run_id)[plan.cells[0].config_hash]
        task = plan.tasks[0]
        eid = store.start_episode(cell_id, task, 0)
        status = store.status(run_id)
        assert (status["planned"], status["started"], status["finished"]) == (12, 1, 0)
        assert store.finished_keys(run_id) == set()
        store.finish_episode(eid, result(task.id, steps=3))
        assert store.finished_keys(run_id) == {(cell_id, task.content_hash, 0)}
        n_steps = store.db.execute("SELECT COUNT(*) FROM steps WHERE episode_id = ?", (eid,)).fetchone()[0]
        n_calls = store.db.execute("SELECT COUNT(*) FROM calls WHERE episode_id = ?", (eid,)).fetchone()[0]
        assert (n_steps, n_calls) == (3, 3)
        status = store.status(run_id)
        assert (status["started"], status["finished"], status["passed"]) == (0, 1, 1)
        with pytest.raises(RuntimeError):
            store.start_episode(cell_id, task, 0)  # a finished episode is never run twice
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_restarted_episode_keeps_one_row(tmp_path: Path) -> None:
    plan = small_plan(tmp_path)
    with Store(tmp_path / "store") as store:
        run_id = store.begin_run(plan)
        cell_id = store.cell_ids(run_id)[plan.cells[0].config_hash]
        first = store.start_episode(cell_id, plan.tasks[0], 1)
        again = store.start_episode(cell_id, plan.tasks[0], 1)  # as after a crash
        assert first == again
        assert store.db.execute("SELECT COUNT(*) FROM episodes").fetchone()[0] == 1


def test_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "perpass.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE future (x)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    with pytest.raises(UserError, match=rf"perpass.db: store schema version {SCHEMA_VERSION + 1} is newer"):
        Store(tmp_path)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert not (tmp_path / "perpass.db-wal").exists()
    proc = subprocess.run([*PERPASS_CMD, "status", "--store", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2 and "newer" in proc.stderr
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_status_of_missing_store_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no run store here"):
        Store(tmp_path / "none", create=False)
    assert not (tmp_path / "none").exists()


def test_changed_config_makes_new_cells(tmp_path: Path) -> None:
    plan = small_plan(tmp_path)
    other = resolve_plan(
        plan.spec.model_copy(
            update={
                "models": {
                    "orc": ModelPlan(route="oracle", baseline={"max_turns": 7}, factors={"max_turns": [9]})
                }
            }
        ),
        tmp_path,
    )
    with Store(tmp_path / "store") as store:
        a, b = store.begin_run(plan), store.begin_run(other)
        assert a != b
        assert plan.cells[0].config_hash not in store.cell_ids(b)
        shared = plan.cells[1].config_hash  # max_turns=9 in both plans: still its own cell per run
        assert store.cell_ids(a)[shared] != store.cell_ids(b)[shared]


def test_eta_from_past_episodes_of_the_config_else_of_the_route(tmp_path: Path) -> None:
    plan = small_plan(tmp_path)
    with Store(tmp_path / "store") as store:
        assert plan_overview(plan, store)["eta_s"] is None  # nothing measured yet: unknown, not made up
        run_id = store.begin_run(plan)
        cell_id = store.cell_ids(run_id)[plan.cells[0].config_hash]
        store.finish_episode(store.start_episode(cell_id, plan.tasks[0], 0), result(plan.tasks[0].id))
        overview = plan_overview(plan, store)
    # 1.5 s per episode; the baseline has 5 of its 6 episodes left (one finished), the max_turns=9
    # cell borrows its route's mean for all 6 of its own.
    assert [c["eta_s"] for c in overview["cells"]] == [7.5, 9.0] and overview["eta_s"] == 16.5
    assert [c["remaining"] for c in overview["cells"]] == [5, 6] and overview["finished"] == 1
    assert [c["baseline"] for c in overview["cells"]] == [True, False]


def test_eta_leaves_out_what_the_plan_already_finished_but_not_other_plans(tmp_path: Path) -> None:
    plan = small_plan(tmp_path)
    other = resolve_plan(plan.spec.model_copy(update={"repeats": 4}), tmp_path)  # same cells, another run
    with Store(tmp_path / "store") as store:
        run_id = store.begin_run(plan)
        for cell in plan.cells:
            cell_id = store.cell_ids(run_id)[cell.config_hash]
            for task in plan.tasks:
                for repeat in range(plan.repeats):
                    store.finish_episode(store.start_episode(cell_id, task, repeat), result(task.id))
        finished = plan_overview(plan, store)
        fresh = plan_overview(other, store)
    assert finished["eta_s"] == 0.0 and finished["remaining"] == 0 and finished["finished"] == 12
    assert fresh["finished"] == 0 and fresh["eta_s"] == 1.5 * 2 * 4 * 2  # its own 16 episodes, none done
