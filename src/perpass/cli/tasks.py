"""`perpass tasks list` and `perpass tasks check [PATH]`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from perpass.cli.app import JsonOption, SandboxOption, app, console, err_console, print_json
from perpass.runs.task_check import TaskCheck, check_task_detail
from perpass.sandbox import open_backend
from perpass.tasks import select_tasks
from perpass.tasks.environment import prepare_environments

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


@tasks_app.command("export")
def export(
    path: PathArgument = None,
    fmt: Annotated[str, typer.Option("--format", help="The task format to write: harbor.")] = "harbor",
    out: Annotated[Path, typer.Option("--out", help="Folder to write one folder per task into.")] = Path("tasks-out"),
    tier: TierOption = None,
) -> None:
    """Write tasks (built-in when no PATH) in another framework's format, e.g. Harbor."""
    from perpass.tasks.export import export_tasks

    written = export_tasks(select_tasks(path, tier, None), fmt, out)
    console.print(f"wrote {len(written)} {fmt} tasks to {out}")


@tasks_app.command("import")
def import_(
    kind: Annotated[str, typer.Argument(help="The source's kind: exercism.")],
    path: Annotated[Path, typer.Argument(help="The source, e.g. a checkout of Exercism's python track.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write one task folder per exercise into.")],
    hide_tests: Annotated[bool, typer.Option("--hide-tests", help="Hold the tests back from the agent.")] = False,
    sandbox: SandboxOption = "bwrap",
) -> None:
    """Convert exercises into perpass tasks; skip (with the reason) those that cannot be fair tasks."""
    from perpass.runs.importing import import_tasks
    from perpass.tasks.importers import ImportOptions

    report = import_tasks(kind, path, out, ImportOptions(hide_tests=hide_tests), open_backend(sandbox),
                          progress=lambda line: err_console.print(line))
    for name, why in report.skipped:
        console.print(f"skipped {name}: {why}")
    console.print(f"wrote {len(report.written)} tasks to {out}; skipped {len(report.skipped)}")


@tasks_app.command("mine")
def mine_(
    repo: Annotated[Path, typer.Argument(help="A git repository whose history to mine.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the accepted tasks into.")],
    since: Annotated[str | None, typer.Option("--since", help="Only commits after this date (git's --since).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Check at most N candidates (newest first).")] = 20,
    paths: Annotated[str | None, typer.Option("--paths", help="Only code changes matching this glob.")] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", min=1, help="Hidden tests' time limit, s.")] = 60.0,
    json_out: JsonOption = False,
    sandbox: SandboxOption = "bwrap",
) -> None:
    """Make tasks from commits that change code and tests; every rejected commit is listed with the reason."""
    from perpass.runs.mine import MineOptions, mine, summary

    report = mine(repo, out, MineOptions(since, limit, paths, time_limit), open_backend(sandbox),
                  progress=lambda line: err_console.print(line))
    if json_out:
        print_json({"commits": report.commits, "candidates": report.candidates, "checked": report.checked,
                    "oracle_passes": report.oracle_passes, "accepted": [str(p) for p in report.accepted],
                    "rejected": [{"commit": c, "reason": why} for c, why in report.rejected],
                    "reasons": report.reasons()})
        return
    for commit, why in report.rejected_candidates:
        console.print(f"rejected {commit}: {why}")
    console.print(summary(report))


def progress_bar(disable: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(),
                    TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=err_console, transient=True, disable=disable)


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
    prepare_environments(tasks)
    backend = open_backend(sandbox)
    results: list[TaskCheck] = []
    on_terminal = err_console.is_terminal
    with progress_bar(disable=not on_terminal) as bar:
        job = bar.add_task("checking", total=len(tasks))
        for index, task in enumerate(tasks, 1):
            bar.update(job, description=f"checking {task.id}")
            results.append(check_task_detail(task, backend))
            bar.advance(job)
            if not on_terminal:  # a log line per task where a bar cannot redraw (CI, a pipe)
                done = results[-1]
                err_console.print(f"[{index}/{len(tasks)}] {task.id}: {'ok' if done.ok else 'REJECTED'} "
                                  f"({done.wall_s:.1f} s)")
    if json_out:
        print_json({"tasks": [r.to_json() for r in results]})
    else:
        table = Table(title="task check")
        for column in ("id", "tier", "oracle passes", "unchanged fails", "F2P", "P2P", "s", "problem",
                       "unstated (tests need, nothing says)"):
            table.add_column(column)
        for r in results:
            table.add_row(r.id, r.tier, mark(r.oracle_pass), mark(r.unchanged_fails), count(r.fail_to_pass),
                          count(r.pass_to_pass), f"{r.wall_s:.1f}", (r.problem or "")[:300],
                          ", ".join(repr(u) for u in r.unstated)[:300])
        console.print(table)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


def count(value: int | None) -> str:
    return "-" if value is None else str(value)


def mark(ok: bool) -> Text:
    return Text("yes", style="green") if ok else Text("NO", style="bold red")
