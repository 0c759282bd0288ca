"""Task sources: the folder formats perpass reads tasks from, as a registry (name → class).

A source recognises a folder holding one task of its format and loads it as a Task; adding a format is
one file here and one line in SOURCES. `perpass tasks list/check/...` and plans take a folder of
tasks of any registered format, mixed. The built-in packs are `perpass` folders; exercism and mined
tasks are written as `perpass` folders by their importers (perpass.tasks.importers).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Protocol

from perpass.errors import UserError
from perpass.tasks.model import Task
from perpass.tasks.sources.harbor import HarborSource
from perpass.tasks.sources.perpass import PerpassSource


class TaskSource(Protocol):
    name: ClassVar[str]

    def recognises(self, folder: Path) -> bool:
        """Whether `folder` (which holds a task.toml) is a task of this format."""
        ...

    def load(self, folder: Path) -> Task:
        """The task; UserError (one line naming the file) when the folder is not a valid task."""
        ...


# Order matters: the first source that recognises a folder loads it; perpass's own format is the fallback.
SOURCES: dict[str, type[TaskSource]] = {"harbor": HarborSource, "perpass": PerpassSource}


def source_of(folder: Path) -> TaskSource:
    for source in SOURCES.values():
        if source().recognises(folder):
            return source()
    raise UserError(f"{folder}: not a task folder of any known format ({', '.join(SOURCES)})")


def load_task(folder: Path) -> Task:
    """Load a task folder of any registered format."""
    return source_of(Path(folder)).load(Path(folder))
