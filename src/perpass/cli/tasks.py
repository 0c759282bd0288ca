"""`perpass tasks list` and `perpass tasks check [PATH]`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from perpass.cli.app import JsonOption, SandboxOption, app, console, print_json
from perpass.runs.task_check import TaskCheck, check_task_detail
from perpass.sandbox import open_backend
from perpass.tasks import select_tasks

tasks_app = typer.Typer(help="The task packs: list them, check them (oracle passes, unchanged fails).",
                        no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")

PathArgument = Annotated[
    Path | None, typer.Argument(help="A task folder or a folder of tasks (default: built-in).")]
TierOption = Annotated[list[str] | None, typer.Option("--tier", help="Only this tier (T0..T3); repeatable.")]


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


@tasks_app.command("list")
def list_tasks(
    path: PathArgument = None,
    tier: TierOption = None,
    json_out: JsonOption = False,
) -> None:
    """List tasks: id, tier, delivery, time limit and the instruction's first line."""
    tasks = select_tasks(path, tier, None)
    if json_out:
        print_json({"tasks": [{"id": t.id, "tier": t.tier, "delivery": t.delivery,
                               "time_limit_s": t.time_limit_s, "content_hash": t.content_hash,
                               "title": first_line(t.instruction), "path": str(t.root)} for t in tasks]})
        return
    table = Table(title=f"{len(tasks)} tasks")
    table.add_column("id", no_wrap=True)
    for column in ("tier", "delivery", "limit s", "instruction"):
        table.add_column(column)
    for t in tasks:
        table.add_row(t.id, t.tier, t.delivery, f"{t.time_limit_s:g}", first_line(t.instruction))
    console.print(table)


def progress_bar(disable: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(),
                    TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=console, transient=True, disable=disable)


@tasks_app.command("check")
def check_tasks(
    path: PathArgument = None,
    tier: TierOption = None,
    json_out: JsonOption = False,
    sandbox: SandboxOption = "bwrap",
) -> None:
    """Run each task's oracle through the real loop and verify the unchanged repository.

    Exit 1 if any task is unsolvable by its oracle or passes unchanged."""
    tasks = select_tasks(path, tier, None)
    backend = open_backend(sandbox)
    results: list[TaskCheck] = []
    with progress_bar(disable=not console.is_terminal or json_out) as bar:
        job = bar.add_task("checking", total=len(tasks))
        for task in tasks:
            bar.update(job, description=f"checking {task.id}")
            results.append(check_task_detail(task, backend))
            bar.advance(job)
    if json_out:
        print_json({"tasks": [r.to_json() for r in results]})
    else:
        table = Table(title="task check")
        for column in ("id", "tier", "oracle passes", "unchanged fails", "s", "problem"):
            table.add_column(column)
        for r in results:
            table.add_row(r.id, r.tier, mark(r.oracle_pass), mark(r.unchanged_fails), f"{r.wall_s:.1f}",
                          (r.problem or "")[:300])
        console.print(table)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


def mark(ok: bool) -> Text:
    return Text("yes", style="green") if ok else Text("NO", style="bold red")
