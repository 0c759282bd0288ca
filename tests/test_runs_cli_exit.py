"""`perpass run` exits 1 when a route fails its smoke gate, after running everything else."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_perpass
from runs_helpers import write_plan


def test_run_exits_1_when_a_route_fails_smoke(tmp_path: Path) -> None:
    routes = {"mute": {"kind": "scripted", "script": ["I would rather chat."]}}
    plan = write_plan(tmp_path, {"mute": {"route": "mute"}, "orc": {"route": "oracle"}}, routes,
                      repeats=1, allow_single_run=True, tiers=("T0",))
    out = run_perpass("run", str(plan), "--store", str(tmp_path / "runs"), "--json", timeout=300)
    assert out.returncode == 1, out.stderr
    cells = {c["label"]: c for c in json.loads(out.stdout)["cells"]}
    assert cells["mute/baseline"]["status"] == "smoke_failed"
    assert cells["orc/baseline"]["status"] == "done" and cells["orc/baseline"]["passed"] == 1
