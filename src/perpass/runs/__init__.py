"""Runs: plan → cells → episodes, the scheduler (smoke gate, serial local + OOM guard, concurrent
remote), and the crash-proof run store.

Light imports only here; the scheduler (which pulls in the agent and sandbox) loads on first use.
"""

from __future__ import annotations

from typing import Any

from perpass.runs.plan import CellSpec, Plan, PlanFile, load_plan, resolve_plan
from perpass.runs.store import Store

__all__ = ["CellSpec", "Plan", "PlanFile", "Store", "demo_plan", "load_plan", "resolve_plan", "run_plan"]


def __getattr__(name: str) -> Any:
    if name == "run_plan":
        from perpass.runs.scheduler import run_plan

        return run_plan
    if name == "demo_plan":
        from perpass.runs.demo import demo_plan

        return demo_plan
    raise AttributeError(name)
