"""The scheduler with the real agent loop: scripted routes, the oracle, the smoke gate, faults, resume."""

from __future__ import annotations

import json
import os
from pathlib import Path

from runs_helpers import SMOKE_REPLIES, small_tasks, solving_script, write_plan

from perpass.runs.plan import load_plan
from perpass.runs.scheduler import run_plan
from perpass.runs.store import Store
from perpass.testing import FaultPlan, ScriptedServer


def episode_keys(store: Store, run_id: int) -> list[tuple[str, str, int]]:
    rows = store.db.execute(
        "SELECT c.label, e.task_id, e.repeat FROM episodes e JOIN cells c ON c.id = e.cell_id "
        "WHERE c.run_id = ? ORDER BY e.id",
        (run_id,),
    ).fetchall()
    return [tuple(r) for r in rows]


def test_scripted_and_oracle_routes_run_interleaved_and_resume_runs_nothing_twice(tmp_path: Path) -> None:
    script = solving_script(small_tasks())
    routes = {
        "solver": {"kind": "scripted", "script": script, "concurrency": 2},
        "mute": {"kind": "scripted", "script": ["I would rather not."]},
    }
    models = {
        "solver": {"route": "solver", "factors": {"max_turns": [8]}},
        "mute": {"route": "mute"},
        "orc": {"route": "oracle"},
    }
    plan = load_plan(write_plan(tmp_path, models, routes))
    with Store(tmp_path / "runs") as store:
        status = run_plan(plan, store)
        by_label = {c["label"]: c for c in status["cells"]}
        assert by_label["solver/baseline"]["status"] == "done"
        assert by_label["solver/max_turns=8"]["passed"] == 6  # 2 tasks x 3 repeats, all solved
        assert by_label["orc/baseline"]["passed"] == 6
        # The mute route fails the smoke gate (no fenced command): none of its cells runs.
        assert by_label["mute/baseline"]["status"] == "smoke_failed"
        assert by_label["mute/baseline"]["finished"] == 0 and "fenced" in by_label["mute/baseline"]["reason"]
        assert (status["planned"], status["finished"], status["started"], status["infra"]) == (24, 18, 0, 0)
        keys = episode_keys(store, status["run_id"])
        # Serial routes run repeat-major: every task once before any task twice.
        orc = [(task, r) for label, task, r in keys if label == "orc/baseline"]
        assert [r for _, r in orc] == [0, 0, 1, 1, 2, 2]
        hardware = json.loads(store.db.execute("SELECT hardware_json FROM runs").fetchone()[0])
        assert hardware["cores"] == os.cpu_count() and hardware["memory_gb"] > 0  # what `perpass hw` shows
        gates = store.db.execute("SELECT route_name, ok FROM gates ORDER BY id").fetchall()
        assert [tuple(g) for g in gates] == [("solver", 1), ("mute", 0), ("oracle", 1)]
        before = store.db.execute("SELECT id, finished_at FROM episodes ORDER BY id").fetchall()
        again = run_plan(plan, store)
        after = store.db.execute("SELECT id, finished_at FROM episodes ORDER BY id").fetchall()
        assert [tuple(r) for r in before] == [tuple(r) for r in after]  # nothing re-run, nothing added
        assert again["run_id"] == status["run_id"] and again["finished"] == 18


def test_injected_faults_are_never_counted_as_model_failures(tmp_path: Path) -> None:
    tasks = small_tasks()
    faults = FaultPlan(rate=0.2, seed=7, retry_after_s=0.01, slow_s=0.05)
    with ScriptedServer(solving_script(tasks), faults=faults) as server:
        routes = {
            "flaky": {"kind": "openai", "base_url": server.base_url, "max_retries": 8, "concurrency": 3}
        }
        plan = load_plan(write_plan(tmp_path, {"flaky": {"route": "flaky"}}, routes, infra_retries=2))
        with Store(tmp_path / "runs") as store:
            status = run_plan(plan, store)
        assert sum(server.stats.faults.values()) >= 3, server.stats.faults
    cell = status["cells"][0]
    assert (cell["status"], cell["finished"], cell["passed"], cell["infra"]) == ("done", 6, 6, 0)


def test_endpoint_down_is_infra_and_retried_not_a_model_failure(tmp_path: Path) -> None:
    with ScriptedServer(SMOKE_REPLIES) as server:
        url = server.base_url
        routes = {"gone": {"kind": "openai", "base_url": url, "max_retries": 0}}
        plan = load_plan(
            write_plan(
                tmp_path,
                {"gone": {"route": "gone"}},
                routes,
                repeats=1,
                allow_single_run=True,
                infra_retries=1,
                smoke={"episode": False},
            )
        )
        store = Store(tmp_path / "runs")
        run_id = store.begin_run(plan)
    # The server is stopped now: the gate would catch it, so run with the gate off to reach episodes.
    plan.spec.smoke.enabled = False
    status = run_plan(plan, store)
    assert status["run_id"] == run_id
    assert (status["finished"], status["infra"], status["passed"]) == (2, 2, 0)
    rows = store.db.execute("SELECT stop_reason, ceiling, attempts FROM episodes").fetchall()
    assert {tuple(r) for r in rows} == {("endpoint_error", "infra", 2)}
    assert not status["trusted"]
    store.close()


def test_adaptive_plan_stops_a_hopeless_cell_early_and_races_the_rest_to_the_maximum(tmp_path: Path) -> None:
    """Through the real CLI, scheduler and store: `dud` never passes, so it stops after N = 3 on every
    tier; `solver` and the oracle tie (every task passed, no cost) and run to the maximum N = 5.
    (With 1 T0 and 2 T1 tasks not even a perfect route can show a 0.5 pass rate with a task-clustered
    lower bound, so the rule would stop everything: the prices file lowers the minimum to 0.2.)"""
    from conftest import run_perpass

    tasks = small_tasks(limit=2)
    routes = {
        "solver": {"kind": "scripted", "script": solving_script(tasks)},
        "dud": {"kind": "scripted", "script": SMOKE_REPLIES},
    }
    models = {
        "solver": {"route": "solver"},
        "dud": {"route": "dud", "baseline": {"max_turns": 2}},
        "orc": {"route": "oracle"},
    }
    (tmp_path / "prices.yaml").write_text("min_pass_rate: 0.2\n")
    plan_path = write_plan(
        tmp_path, models, routes, repeats=5, limit=2, allocation="adaptive", adaptive={"prices": "prices.yaml"}
    )
    store_dir = tmp_path / "runs"
    done = run_perpass("run", str(plan_path), "--store", str(store_dir), "--json", timeout=600)
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    by_label = {c["label"]: c for c in status["cells"]}
    assert by_label["dud/baseline"]["status"] == "stopped_early"
    assert by_label["dud/baseline"]["finished"] == 3 * 3  # N = 3 on 3 tasks (T0 + two T1), then stopped
    assert "T0 at N=3" in by_label["dud/baseline"]["reason"] and "T1 at N=3" in by_label["dud/baseline"]["reason"]
    for label in ("solver/baseline", "orc/baseline"):
        assert (by_label[label]["status"], by_label[label]["finished"], by_label[label]["passed"]) == ("done", 15, 15)
    stops = {(s["cell"], s["tier"]): s for s in status["allocation_stops"]}
    assert set(stops) == {("dud/baseline", "T0"), ("dud/baseline", "T1")}
    assert {s["kind"] for s in stops.values()} == {"cannot_reach_min_pass_rate"}
    assert all(s["repeats"] == 3 for s in stops.values())
    with Store(store_dir) as store:
        rows = store.db.execute("SELECT tier, repeats, kind FROM allocation_stops ORDER BY tier").fetchall()
        assert [tuple(r) for r in rows] == [(t, 3, "cannot_reach_min_pass_rate") for t in ("T0", "T1")]
        dud_repeats = store.db.execute(
            "SELECT MAX(e.repeat) FROM episodes e JOIN cells c ON c.id = e.cell_id WHERE c.label = 'dud/baseline'"
        ).fetchone()[0]
        assert dud_repeats == 2
    # Resumed: the rounds replay from the store, nothing runs twice and the stops stay as they were.
    again = run_perpass("run", str(plan_path), "--store", str(store_dir), "--json", timeout=600)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["finished"] == status["finished"] == 39
    shown = run_perpass("status", "--store", str(store_dir))
    assert shown.returncode == 0, shown.stderr
    assert "dud/baseline on T1 at N=3" in shown.stdout and "cannot_reach_min_pass_rate" in shown.stdout
