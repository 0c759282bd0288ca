"""An external agent's episodes through the real scheduler and store: which agent ran and its own log
are stored (migration 0006) and reach the report's episode browser beside the gateway's steps."""

from __future__ import annotations

import base64
import gzip
import json
import sqlite3
from pathlib import Path

import yaml
from agent_helpers import T1
from external_helpers import LEAP_FIX, PUSH, TINY_AGENT

from perpass.analysis.analyze import analyze
from perpass.report.html_episodes import episode_data
from perpass.runs import Store, run_plan
from perpass.runs.plan import load_plan


def test_the_agent_and_its_log_are_stored_and_shown(tmp_path: Path) -> None:
    routes = {
        "tiny": {"kind": "scripted", "script": [LEAP_FIX, "echo visible-in-the-log", PUSH, "DONE"],
                 "harness": {"agent": "command", "agent_command": TINY_AGENT + "\necho agent finished"}},
        "builtin": {"kind": "scripted", "script": ["```bash\nsubmit\n```"]},
    }
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump({
        "routes": routes, "tasks": {"ids": [T1]}, "repeats": 1, "allow_single_run": True,
        "smoke": {"enabled": False}, "models": {name: {"route": name} for name in routes}}))
    with Store(tmp_path / "runs") as store:
        status = run_plan(load_plan(plan), store)
    assert status["finished"] == 2 and status["passed"] == 1, status
    db = sqlite3.connect(tmp_path / "runs" / "perpass.db")
    stored = {label: (agent, log) for label, agent, log in db.execute(
        "SELECT c.label, e.agent, e.agent_log FROM episodes e JOIN cells c ON c.id = e.cell_id")}
    db.close()
    assert stored["builtin/baseline"] == ("perpass", None)
    assert stored["tiny/baseline"][0] == "command" and "agent finished" in stored["tiny/baseline"][1]
    data = episode_data(analyze(tmp_path / "runs"))
    row = next(r for r in data.rows if r["route"] == "tiny/baseline")
    assert row["agent"] == "command" and row["steps"] == 4 and row["verdict"] == "pass"
    shown = json.loads(gzip.decompress(base64.b64decode(data.transcripts[str(row["id"])])))
    assert "agent finished" in shown["agent_log"] and shown["steps"][1]["reply"] == "echo visible-in-the-log"
