"""`perpass episode --route R --task ID`: one episode, transcript to a file, summary on the terminal."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from perpass.agent.types import EpisodeResult, Step
from perpass.cli.app import DEFAULT_STORE, JsonOption, RoutesOption, SandboxOption, app, console, print_json
from perpass.endpoints.routes import get_route
from perpass.errors import RouteFailed, UserError

EPISODE_KEYS = ("stop_reason", "ceiling", "passed", "false_done", "turns", "calls", "prompt_tokens",
                "completion_tokens", "wall_s", "transcript")


def print_episode(result: EpisodeResult) -> None:
    summary = result.summary().model_dump(mode="json")
    table = Table(title=f"episode: {result.route} on {result.task_id}", show_header=False)
    for key in EPISODE_KEYS:
        table.add_row(key, str(summary[key]))
    table.add_row("model_s", f"{result.model_s:.2f}")
    if result.error:
        table.add_row("error", result.error)
    console.print(table)


def print_step(step: Step) -> None:
    action = step.action.splitlines()[0][:100] if step.action else "(no parsable action)"
    status = "" if step.exit_code is None else f"  (exit {step.exit_code})"
    console.print(f"  step {step.index}: {action}{status}", highlight=False, markup=False)


def task_id(task: str, tasks: Path | None) -> str:
    """`--task` takes an id; a task folder given there is a mistake that names the flag to use."""
    folder = Path(task)
    if tasks is None and folder.is_dir():
        if (folder / "task.toml").is_file():
            raise UserError(f"--task {task}: is a task folder; pass --tasks {folder.parent} --task <its id>")
        raise UserError(f"--task {task}: is a folder; pass it as --tasks {task} and a task id as --task")
    return task


@app.command()
def episode(
    route: Annotated[str, typer.Option("--route", help="Route name (built-in or from --routes).")],
    task: Annotated[str, typer.Option("--task", help="Task id, e.g. t0-smoke-hello (see `perpass tasks list`).")],
    routes: RoutesOption = None,
    tasks: Annotated[Path | None, typer.Option("--tasks", help="A folder of your own tasks.")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Episode folder (default: under perpass-runs/episodes/).")] = None,
    json_out: JsonOption = False,
    sandbox: SandboxOption = "bwrap",
    keep_workspace: Annotated[bool, typer.Option(
        "--keep-workspace", help="Save the agent's workspace as workspace.tar in the episode folder.")] = False,
) -> None:
    """Run one episode of a route on a task: the agent loop, then the hidden verifier."""
    from perpass.agent.loop import run_episode
    from perpass.endpoints.local import ServerFailed
    from perpass.endpoints.routes import open_route
    from perpass.sandbox import open_backend
    from perpass.tasks import select_tasks

    the_route = get_route(route, routes)
    wanted = task_id(task, tasks)
    try:
        the_task = select_tasks(tasks, None, [wanted])[0]
    except UserError as err:
        raise UserError(f"{err}; for your own tasks add --tasks FOLDER" if tasks is None else str(err)) from None
    backend = open_backend(sandbox)
    folder = out or DEFAULT_STORE / "episodes" / f"{route}-{task}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with open_route(the_route, folder / "logs") as live:
            result = run_episode(the_task, live, backend, folder, on_step=None if json_out else print_step,
                                 keep_workspace=keep_workspace)
    except ServerFailed as err:
        raise RouteFailed(f"route {route}: {'out of memory: ' if err.oom else ''}{err}") from None
    if json_out:
        print_json(result.summary().model_dump(mode="json"))  # docs/schemas/episode.schema.json
    else:
        print_episode(result)
