"""The demo's OFAT plan on the embedded SmolLM2-135M: small enough for a 2-core machine.

Baseline + 2 factors × 1 level (a sampling factor, which reuses the running server, and a serving
factor, which restarts it), T0 + one T1 task, N = 3: 3 cells × 2 tasks × 3 repeats = 18 episodes.
Budgets are kept small (4 turns, 96 output tokens, 8 s per command, 40 s per episode) so the whole
matrix takes a few minutes on 2 cores; a 135M model rarely needs more to show what it can and
cannot do, and a command that hangs (an interactive `python`) must not eat the demo's time.
Short observations (1,500 chars) keep prompt processing, the slow part on 2 cores, small.
"""

from __future__ import annotations

from pathlib import Path

from perpass.runs.plan import ModelPlan, Plan, PlanFile, TaskSelection, resolve_plan

DEMO_BASELINE = {
    "max_turns": 4,
    "max_output_tokens": 96,
    "wall_limit_s": 40,
    "command_timeout_s": 8,
    "max_observation_chars": 1500,
    "n_ctx": 4096,
    "temperature": 0.2,
}
DEMO_FACTORS: dict[str, list[object]] = {"temperature": [0.7], "n_ctx": [2048]}


def demo_plan_file(route: str = "local-smollm2", t1_tasks: int = 1) -> PlanFile:
    return PlanFile(
        tasks=TaskSelection(tiers=["T0", "T1"], limit=t1_tasks),
        repeats=3,
        infra_retries=1,
        models={"smollm2": ModelPlan(route=route, baseline=dict(DEMO_BASELINE), factors=dict(DEMO_FACTORS))},
    )


def demo_plan(route: str = "local-smollm2", t1_tasks: int = 1, base_dir: Path | None = None) -> Plan:
    """The demo plan, resolved: `run_plan(demo_plan(), Store(out / "runs"))` runs or resumes it."""
    return resolve_plan(demo_plan_file(route, t1_tasks), base_dir or Path.cwd())
