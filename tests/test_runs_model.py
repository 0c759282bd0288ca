"""The real embedded model under the scheduler: one server per serving config, the gate reuses it."""

from __future__ import annotations

from pathlib import Path

import pytest
from runs_helpers import write_plan

from perpass.runs.plan import load_plan
from perpass.runs.scheduler import run_plan
from perpass.runs.store import Store


@pytest.mark.model
def test_local_route_starts_one_server_per_serving_config(tmp_path: Path) -> None:
    models = {
        "smol": {
            "route": "local-smollm2",
            "baseline": {"max_turns": 2, "max_output_tokens": 48, "command_timeout_s": 5},
            "factors": {"temperature": [0.7], "threads": [1]},
        }
    }
    plan = load_plan(write_plan(tmp_path, models, repeats=1, allow_single_run=True, tiers=("T0",)))
    with Store(tmp_path / "runs") as store:
        status = run_plan(plan, store)
        assert [c["status"] for c in status["cells"]] == ["done", "done", "done"], status["cells"]
        assert status["finished"] == 3 and status["infra"] == 0
        assert store.db.execute("SELECT ok FROM gates").fetchall()[0][0] == 1
    # baseline + temperature share one server (the gate ran on it too); threads=1 needs a second.
    logs = sorted(p.name for p in (tmp_path / "runs" / "logs").glob("server-*.log"))
    assert logs == ["server-smol-baseline.log", "server-smol-threads=1.log"]
    text = (tmp_path / "runs" / "logs" / "server-smol-baseline.log").read_text()
    assert text.count("Uvicorn running on") == 1  # started once, for the gate and both cells
