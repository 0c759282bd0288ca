"""Shared by tests/test_deploy_*.py: a real run store from the real scheduler, with routes from a routes file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from runs_helpers import small_tasks, solving_script

from perpass.runs.plan import load_plan
from perpass.runs.scheduler import run_plan
from perpass.runs.store import Store


def write_routes(folder: Path, routes: dict[str, Any]) -> Path:
    path = folder / "routes.yaml"
    path.write_text(yaml.safe_dump({"routes": routes}, sort_keys=False))
    return path


def run_routes_plan(folder: Path, routes: dict[str, Any], models: dict[str, Any], repeats: int = 3,
                    limit: int = 1) -> Path:
    """routes.yaml + plan.yaml (routes_file: routes.yaml; T0 and `limit` T1 tasks) in `folder`, run by the real
    scheduler; returns the store."""
    folder.mkdir(parents=True, exist_ok=True)
    write_routes(folder, routes)
    plan = folder / "plan.yaml"
    plan.write_text(yaml.safe_dump({"routes_file": "routes.yaml", "tasks": {"tiers": ["T0", "T1"], "limit": limit},
                                    "repeats": repeats, "models": models}, sort_keys=False))
    with Store(folder / "runs") as store:
        run_plan(load_plan(plan), store)
    return folder / "runs"


def scripted_solver(prices: dict[str, float], **extra: Any) -> dict[str, Any]:
    return {"kind": "scripted", "script": solving_script(small_tasks(3)), "prices": prices, **extra}


def scripted_store(folder: Path) -> Path:
    """Two solving routes (one ranked with a plan-changed temperature), one that never passes, the oracle."""
    routes = {
        "solver-a": scripted_solver({"input": 0.5, "cached_input": 0.05, "output": 1.0},
                                    sampling={"temperature": 0.1}, harness={"max_turns": 8}),
        "solver-b": scripted_solver({"input": 3.0, "output": 15.0}),
        "quitter": {"kind": "scripted", "script": ["```bash\nls\n```", "```bash\nsubmit\n```"],
                    "prices": {"input": 0.1, "output": 0.1}},
    }
    models = {
        "sa": {"route": "solver-a", "baseline": {"temperature": 0.3}},
        "sb": {"route": "solver-b"},
        "quit": {"route": "quitter"},
        "orc": {"route": "oracle"},
    }
    # 3 T1 tasks: with pass rates clustered by task, 3 tasks all passed clear the tests' minimum of 0.4
    return run_routes_plan(folder, routes, models, limit=3)


def floats(data: Any) -> list[float]:
    """Every float in a nested structure (to check what a file rounds)."""
    if isinstance(data, float):
        return [data]
    if isinstance(data, dict):
        return [f for v in data.values() for f in floats(v)]
    if isinstance(data, list):
        return [f for v in data for f in floats(v)]
    return []


def unrounded(values: list[float]) -> list[float]:
    """Floats with more than 4 significant digits, e.g. a lower bound of 5.551115123125783e-17."""
    return [v for v in values if v != float(f"{v:.4g}")]


FAKE_LLAMA_SERVER = """\
#!{python}
# A llama-server look-alike for a local route: serves a script over HTTP on --port, and appends the
# sampling parameters of every request it gets to {requests!r} (one JSON line each).
import argparse, json, sys, time
sys.path.insert(0, {src!r})
from perpass.testing import ScriptedServer

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int)
args, _ = parser.parse_known_args()


class Recording(ScriptedServer):
    def _completion(self, request, messages, reply):
        with open({requests!r}, "a") as log:
            log.write(json.dumps({{k: v for k, v in request.items() if k != "messages"}}) + "\\n")
        return super()._completion(request, messages, reply)


with Recording(json.loads(open({script!r}).read()), port=args.port, latency_s=0.3):
    print("server listening", flush=True)
    while True:
        time.sleep(1)
"""


def fake_llama_server(folder: Path, script: list[Any]) -> tuple[Path, Path]:
    """An executable that llama-server routes can name as `server_binary`; returns it and its request log."""
    import json
    import sys

    folder.mkdir(parents=True, exist_ok=True)
    script_path, requests, binary = folder / "script.json", folder / "requests.jsonl", folder / "llama-server"
    script_path.write_text(json.dumps(script))
    binary.write_text(FAKE_LLAMA_SERVER.format(python=sys.executable, src=str(Path(__file__).parents[1] / "src"),
                                               script=str(script_path), requests=str(requests)))
    binary.chmod(0o755)
    return binary, requests
