"""`perpass status` while a run runs, after it is killed, and after it resumes; its JSON against the
published schema (docs/schemas/status.schema.json); `plan --show` on a finished plan."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import PERPASS_CMD, run_perpass
from runs_helpers import small_tasks, solving_script, write_plan

from perpass.testing import ScriptedServer

SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "schemas" / "status.schema.json").read_text())


def status_json(store: Path) -> dict[str, Any]:
    proc = run_perpass("status", "--store", str(store), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    jsonschema.validate(data, SCHEMA)  # real output, the published schema
    return data


def finished(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM episodes WHERE status = 'finished'").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_status_says_running_then_interrupted_after_a_kill_then_done(tmp_path: Path) -> None:
    with ScriptedServer(solving_script(small_tasks()), latency_s=0.1) as server:
        routes = {"slow": {"kind": "openai", "base_url": server.base_url}}
        plan = write_plan(tmp_path, {"slow": {"route": "slow"}}, routes, smoke={"enabled": False})
        store = tmp_path / "runs"
        cmd = [*PERPASS_CMD, "run", str(plan), "--store", str(store), "--progress", "quiet"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 90
            while finished(store / "perpass.db") < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            live = status_json(store)
            assert proc.poll() is None, "the run ended before status could see it running"
            assert live["in_progress"] and live["cells"][0]["status"] == "running", live
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        dead = status_json(store)
        assert not dead["in_progress"] and dead["cells"][0]["status"] == "interrupted", dead
        table = run_perpass("status", "--store", str(store))
        assert "interrupted" in table.stdout and "running" not in table.stdout, table.stdout
        resumed = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert resumed.returncode == 0, resumed.stderr
    done = status_json(store)
    assert done["done"] and not done["in_progress"] and done["cells"][0]["status"] == "done"
    assert (done["finished"], done["passed"]) == (6, 6)
    # plan --show on the finished plan: nothing left to do, so no time left either.
    shown = run_perpass("plan", str(plan), "--store", str(store), "--json")
    overview = json.loads(shown.stdout)
    assert (overview["finished"], overview["remaining"], overview["eta_s"]) == (6, 0, 0.0)
    text = run_perpass("plan", str(plan), "--store", str(store))
    words = " ".join(text.stdout.split())
    assert "6 episodes, 6 already finished, ETA 00:00:00" in words and "0 of 6" in words, text.stdout


def test_status_of_an_empty_store_validates_too(tmp_path: Path) -> None:
    from perpass.runs.store import Store

    Store(tmp_path).close()
    data = status_json(tmp_path)
    assert data["run_id"] is None and data["cells"] == []


def test_the_published_schemas_are_the_generated_ones() -> None:
    """docs/schemas/*.schema.json are regenerated with `perpass schema NAME --out FILE`; never hand-edited."""
    docs = Path(__file__).parent.parent / "docs" / "schemas"
    for name in ("routes", "plan", "status", "episode", "transcript"):
        proc = run_perpass("schema", name)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout) == json.loads((docs / f"{name}.schema.json").read_text()), (
            f"docs/schemas/{name}.schema.json is stale: run `perpass schema {name} --out` it")
        jsonschema.Draft202012Validator.check_schema(json.loads(proc.stdout))
