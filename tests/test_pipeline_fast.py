"""The whole data path in seconds, no model: a real plan with scripted routes through the real
scheduler (smoke gate, sandbox, agent loop, verifier) → store → analysis → decision → files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import run_perpass
from runs_helpers import SMOKE_REPLIES, small_tasks, solving_script, write_plan

from perpass.analysis.analyze import analyze
from perpass.analysis.decide import decision
from perpass.analysis.prices import load_price_book
from perpass.report.outputs import write_outputs
from perpass.runs.plan import load_plan
from perpass.runs.scheduler import run_plan
from perpass.runs.store import Store

STATUS_SCHEMA = Path(__file__).parent.parent / "docs" / "schemas" / "status.schema.json"
SOLVER_PRICES = {"input": 10.0, "output": 40.0}  # $ per 1M tokens: dear per token...
SLOPPY_PRICES = {"input": 0.1, "output": 0.4}  # ...and cheap per token, but it never fixes T1


def billed(db: Path, label: str, prices: dict[str, float]) -> float:
    """What the route's calls cost, summed straight from the store's calls table."""
    conn = sqlite3.connect(db)
    try:
        prompt, completion = conn.execute(
            "SELECT SUM(COALESCE(k.prompt_tokens, 0)), SUM(COALESCE(k.completion_tokens, 0)) FROM calls k"
            " JOIN episodes e ON e.id = k.episode_id JOIN cells c ON c.id = e.cell_id"
            " WHERE c.label = ? AND e.status = 'finished'",
            (label,),
        ).fetchone()
    finally:
        conn.close()
    return (prompt * prices["input"] + completion * prices["output"]) / 1e6


def test_scripted_plan_runs_through_store_analysis_and_decision(tmp_path: Path) -> None:
    tasks = small_tasks()  # T0 and one T1 task
    t0 = next(t for t in tasks if t.tier == "T0")
    routes = {
        "solver": {"kind": "scripted", "script": solving_script(tasks), "prices": SOLVER_PRICES},
        # Does the T0 task, then "fixes" anything else by looking around and declaring done.
        "sloppy": {"kind": "scripted", "prices": SLOPPY_PRICES, "script": solving_script([t0]) + SMOKE_REPLIES[:1]
                   + ["```bash\nsubmit\n```"]},
    }
    models = {"solver": {"route": "solver"}, "sloppy": {"route": "sloppy"}}
    plan = load_plan(write_plan(tmp_path, models, routes, repeats=3))
    with Store(tmp_path / "runs") as store:
        status = run_plan(plan, store)
    cells = {c["label"]: c for c in status["cells"]}
    assert [c["status"] for c in cells.values()] == ["done", "done"], cells
    assert (cells["solver/baseline"]["passed"], cells["sloppy/baseline"]["passed"]) == (6, 3)
    assert status["infra"] == 0
    shown = run_perpass("status", "--store", str(tmp_path / "runs"), "--json")
    assert json.loads(shown.stdout) == status  # the CLI prints what run_plan returned...
    jsonschema.validate(status, json.loads(STATUS_SCHEMA.read_text()))  # ...in the published shape

    book = load_price_book(None)
    # One T1 task passed 3 of 3: clustered by task that is one trial's worth, Wilson lower bound 0.21.
    book.min_pass_rate = 0.2
    an = analyze(tmp_path / "runs", book, n_boot=300)
    db = tmp_path / "runs" / "perpass.db"
    solver = an.layers["solver/baseline"]
    assert solver.pass_rate == 1.0
    # Every solver episode passed: no failure overhead, so cost per pass = what its calls cost / passes.
    assert solver.per_pass == pytest.approx(billed(db, "solver/baseline", SOLVER_PRICES) / 6, rel=1e-9)
    assert solver.per_pass > 0
    sloppy = an.layers["sloppy/baseline"]
    assert (sloppy.per_token or 0) < (solver.per_token or 0)  # cheaper per token...
    result = decision(an)
    assert result.tiers["T1"].primary == "solver/baseline"  # ...but it never passes T1
    assert "sloppy/baseline" in result.rankings["per_token"][:1]

    written = write_outputs(tmp_path / "runs", tmp_path / "out", analysis=an, decision=result)
    routing = yaml.safe_load(written["routing"].read_text())
    assert routing["tiers"]["T1"]["primary"]["route"] == "solver"  # named as in the routes file
    assert (tmp_path / "out" / "cards" / "solver.md").is_file()
