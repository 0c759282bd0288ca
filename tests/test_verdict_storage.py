"""The verifier's verdict travels with the episode: stored by the real scheduler (reason, per-test outcomes,
evidence), counted on the card with tampered/suspicious apart from failed tests, shown by the report."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import yaml

from perpass.analysis.analyze import analyze
from perpass.analysis.decide import decision
from perpass.report.cards import write_cards
from perpass.report.html_episodes import episode_data
from perpass.runs import Store, run_plan
from perpass.runs.plan import load_plan
from perpass.verifier import Verdict

TASK = "t1-off-by-one-range"
FIX = "sed -i 's/range(1, page_count(total_items, per_page))/range(1, page_count(total_items, per_page) + 1)/'" \
      " pagination.py"
PUSH = "git commit -qam work && git push -q origin main"


def bash(command: str) -> str:
    return f"```bash\n{command}\n```"


def test_verdicts_are_stored_counted_and_shown(tmp_path: Path) -> None:
    routes = {
        "honest": {"kind": "scripted", "script": [bash(FIX), bash(PUSH), bash("submit")]},
        # A right answer plus code that walks the garbage collector: flagged `suspicious`, never a pass.
        "flagged": {"kind": "scripted", "script": [bash(FIX), bash("printf '\\nimport gc\\n' >> pagination.py"),
                                                   bash(PUSH), bash("submit")]},
        "lazy": {"kind": "scripted", "script": [bash("submit")]},
    }
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump({
        "routes": routes, "tasks": {"ids": [TASK]}, "repeats": 1, "allow_single_run": True,
        "smoke": {"enabled": False}, "models": {name: {"route": name} for name in routes}}))
    with Store(tmp_path / "runs") as store:
        run_plan(load_plan(plan), store)
    db = sqlite3.connect(tmp_path / "runs" / "perpass.db")
    rows = {cell: (reason, json.loads(raw)) for cell, reason, raw in db.execute(
        "SELECT c.label, e.verdict_reason, e.verdict_json FROM episodes e JOIN cells c ON c.id = e.cell_id")}
    db.close()
    assert {cell: reason for cell, (reason, _) in rows.items()} == {
        "honest/baseline": "passed", "flagged/baseline": "suspicious", "lazy/baseline": "tests_failed"}
    lazy = Verdict.model_validate(rows["lazy/baseline"][1])
    assert lazy.tests and any(t.outcome == "failed" for t in lazy.tests)  # per-test outcomes kept
    flagged = Verdict.model_validate(rows["flagged/baseline"][1])
    assert any(e.kind == "scan" and "gc" in e.detail for e in flagged.evidence), flagged.evidence

    an = analyze(tmp_path / "runs")
    write_cards(an, decision(an), tmp_path / "cards")
    flagged_card = (tmp_path / "cards" / "flagged.md").read_text()
    assert "| flagged/baseline | 0 | 0 | 0 | 1 | 0 |" in flagged_card  # suspicious, counted apart
    assert "Tampering and flagged code" in flagged_card and "import gc" in flagged_card
    lazy_card = (tmp_path / "cards" / "lazy.md").read_text()
    assert "Hidden tests that failed" in lazy_card and "test_all_pages_listed` 0/1" in lazy_card

    data = episode_data(an)
    assert {row["route"]: row["reason"] for row in data.rows} == {
        "honest/baseline": "passed", "flagged/baseline": "suspicious", "lazy/baseline": "tests_failed"}
