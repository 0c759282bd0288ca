"""`perpass init`, `perpass plan`, `perpass run`, `perpass status`: steps 3 and 4 of the workflow."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from perpass import files
from perpass.cli.app import DEFAULT_STORE, JsonOption, StoreOption, app, console, print_json
from perpass.errors import UserError
from perpass.runs.json_schemas import schema_text
from perpass.runs.plan import load_plan
from perpass.runs.starter import STARTER_PLAN
from perpass.runs.store import Store, db_path
from perpass.runs.summary import plan_overview

PLAN_SCHEMA_NAME = "perpass-plan.schema.json"
PlanArg = Annotated[Path, typer.Argument(help="The plan file (see `perpass init`).")]


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the starter plan.")] = Path("plan.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter plan.yaml (baseline + one factor, built-in T0/T1 tasks, N = 3).

    Its JSON Schema is written beside it, for editors (the plan's first line points at it)."""
    if path.exists() and not force:
        raise UserError(f"{path}: already exists; pass --force to overwrite, or give another path")
    schema_path = path.parent / PLAN_SCHEMA_NAME  # what editors check the plan against (see the first line)
    files.write_text(schema_path, schema_text("plan"))
    files.write_text(path, f"# yaml-language-server: $schema=./{PLAN_SCHEMA_NAME}\n" + STARTER_PLAN)
    console.print(f"wrote {path} (and {schema_path.name} for editors); check it with "
                  f"`perpass plan {path} --show`, then `perpass run {path}`")


@app.command()
def plan(
    plan_path: PlanArg,
    show: Annotated[bool, typer.Option("--show", help="List the cells (the default).")] = True,
    store: StoreOption = DEFAULT_STORE,
    json_out: JsonOption = False,
) -> None:
    """Check a plan and list its OFAT cells, episode count and ETA (from past runs in the store)."""
    loaded = load_plan(plan_path)
    past = Store(store, create=False) if db_path(store).exists() else None
    try:
        overview = plan_overview(loaded, past)
    finally:
        if past:
            past.close()
    if json_out:
        print_json(overview)
        return
    done = f", {overview['finished']} already finished" if overview["finished"] else ""
    table = Table(title=f"{plan_path}: {overview['episodes']} episodes{done}, ETA {overview['eta_text']}")
    for column in ("cell", "route", "changes", "episodes", "ETA"):
        table.add_column(column)
    for cell in overview["cells"]:
        change = "baseline" if cell["baseline"] else ", ".join(f"{k}={v}" for k, v in cell["changes"].items())
        episodes = f"{cell['remaining']} of {cell['episodes']}" if cell["finished"] else str(cell["episodes"])
        table.add_row(cell["label"], cell["route"], change, episodes, cell["eta_text"])
    console.print(table)
    if not overview["trusted"]:
        console.print("repeats < 3 (allow_single_run): every result of this plan is marked not trusted", style="yellow")


@app.command()
def run(
    plan_path: PlanArg,
    store: StoreOption = DEFAULT_STORE,
    progress: Annotated[str, typer.Option(help="auto | rich | plain | quiet")] = "auto",
    json_out: JsonOption = False,
    ray_address: Annotated[str | None, typer.Option(
        "--ray-address", help="A running Ray cluster for a plan with 'executor: ray' (default: RAY_ADDRESS, "
        "else a local Ray instance); see docs/ray.md.")] = None,
) -> None:
    """Run the plan (or resume it: finished episodes are kept, interrupted ones re-run).

    Exit 1 when a route failed its smoke gate (its cells did not run), as `perpass smoke` does.
    """
    from perpass.runs.executors import open_executor
    from perpass.runs.progress import make_progress
    from perpass.runs.scheduler import run_plan

    if progress not in ("auto", "rich", "plain", "quiet"):
        raise UserError(f"--progress {progress}: use auto, rich, plain or quiet")
    loaded = load_plan(plan_path)
    executor = open_executor(loaded.spec.executor, ray_address=ray_address)  # before the store: refusal writes nothing
    allocator = None
    if (adaptive := loaded.adaptive) is not None:
        from perpass.analysis.adaptive import StoreAllocator

        prices = loaded.base_dir / adaptive.prices if adaptive.prices else None
        allocator = StoreAllocator.for_plan(adaptive.error_rate, adaptive.min_repeats, loaded.repeats, prices)
    with Store(store) as opened:
        progress_bar = make_progress("quiet" if json_out else progress, console)
        status = run_plan(loaded, opened, progress=progress_bar, allocator=allocator, executor=executor)
    status["allocation_stops"] = stops_of(store, status["run_id"])
    if json_out:
        print_json(status)
    else:
        print_status(status)
    failed = sorted({c["route"] for c in status["cells"] if c["status"] == "smoke_failed"})
    if failed:
        if not json_out:
            console.print(f"route(s) failed the smoke gate, their cells did not run: {', '.join(failed)}", style="red")
        raise typer.Exit(1)


@app.command()
def status(
    store: StoreOption = DEFAULT_STORE,
    run_id: Annotated[int | None, typer.Option("--run", help="Run id (default: the latest).")] = None,
    json_out: JsonOption = False,
) -> None:
    """Progress of a run per route and cell: planned, finished, started (interrupted), infra."""
    with Store(store, create=False) as opened:
        data = opened.status(run_id)
    data["allocation_stops"] = stops_of(store, data["run_id"])
    if json_out:
        print_json(data)
    else:
        print_status(data)


def stops_of(store: Path, run_id: int | None) -> list[dict[str, Any]]:
    """Where an adaptive run stopped giving cells episodes: cell, tier, at which N, why."""
    from dataclasses import asdict

    from perpass.analysis.adaptive import read_stops

    return [asdict(s) for s in read_stops(db_path(store)) if s.run_id == run_id] if run_id is not None else []


def print_status(data: dict[str, Any]) -> None:
    title = (
        f"run {data['run_id']}: {data['finished']}/{data['planned']} finished, {data['passed']} passed, "
        f"{data['infra']} infra, {data['started']} interrupted"
    )
    table = Table(title=title)
    for column in ("cell", "status", "finished", "passed", "infra", "reason"):
        table.add_column(column)
    for c in data["cells"]:
        table.add_row(
            c["label"],
            c["status"],
            f"{c['finished']}/{c['planned']}",
            str(c["passed"]),
            str(c["infra"]),
            (c["reason"] or "")[:80],
        )
    console.print(table)
    stops = data.get("allocation_stops") or []
    if stops:
        console.print(f"adaptive allocation: {len(stops)} (cell, tier) stopped early, by the stopping rule:")
        for s in stops:
            console.print(f"  {s['cell']} on {s['tier']} at N={s['repeats']} ({s['episodes']} episodes): "
                          f"{s['kind']}: {s['reason']}", markup=False, highlight=False)
    if not data.get("trusted", True):
        console.print("not trusted: this run has fewer than 3 repeats (allow_single_run)", style="yellow")
