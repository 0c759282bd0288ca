"""Finding tasks: the built-in packs, or a user's folder of task folders, filtered by tier and id."""

from __future__ import annotations

import functools
from pathlib import Path

from perpass.errors import UserError
from perpass.tasks.model import TIERS, Task
from perpass.tasks.sources import load_task

PACKS_DIR = Path(__file__).parent / "packs"


def find_task_folders(source: Path) -> list[Path]:
    """Folders holding a task.toml under `source` (or `source` itself), not nested in another task."""
    if (source / "task.toml").is_file():
        return [source]
    folders: list[Path] = []
    for toml in sorted(source.rglob("task.toml")):
        folder = toml.parent
        # A task's own repo/ may hold anything, even a task.toml: it belongs to that task.
        if not any((parent / "task.toml").is_file() for parent in folder.parents if source in parent.parents):
            folders.append(folder)
    return folders


def load_tasks(source: Path) -> list[Task]:
    if not source.is_dir():
        raise UserError(f"{source}: not a folder; give a task folder or a folder of task folders")
    tasks = [load_task(folder) for folder in find_task_folders(source)]
    if not tasks:
        raise UserError(f"{source}: no task.toml found (see docs/tasks.md for the task format)")
    seen: dict[str, Path] = {}
    for task in tasks:
        if task.id in seen:
            raise UserError(f"{task.root / 'task.toml'}: duplicate task id '{task.id}' "
                            f"(also in {seen[task.id]}); give each task its own id")
        seen[task.id] = task.root
    return sorted(tasks, key=lambda t: t.id)


def builtin_tasks() -> list[Task]:
    """The T0 smoke task and the T1..T3 packs shipped with perpass, sorted by id."""
    return list(_builtin_tasks())


@functools.cache
def _builtin_tasks() -> tuple[Task, ...]:
    # Read and hashed once per process: the packs ship with perpass and do not change while it runs.
    return tuple(load_tasks(PACKS_DIR))


def select_tasks(source: Path | None, tiers: list[str] | None, ids: list[str] | None) -> list[Task]:
    """Tasks from `source` (built-in packs when None), keeping only the given tiers and ids."""
    tasks = builtin_tasks() if source is None else load_tasks(Path(source))
    if tiers:
        wanted = {tier.upper() for tier in tiers}
        unknown = sorted(wanted - set(TIERS))
        if unknown:
            raise UserError(f"unknown tier {', '.join(unknown)}; use one of {', '.join(TIERS)}")
        tasks = [t for t in tasks if t.tier in wanted]
    if ids:
        known = {t.id for t in tasks}
        missing = [i for i in ids if i not in known]
        if missing:
            raise UserError(f"unknown task id {', '.join(missing)}; run `perpass tasks list` to see ids")
        tasks = [t for t in tasks if t.id in set(ids)]
    return tasks
