"""perpass's own task folder: task.toml with id and instruction, repo/, tests/, solution/ (docs/tasks.md)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from perpass.tasks.model import Task, load_task


class PerpassSource:
    name: ClassVar[str] = "perpass"

    def recognises(self, folder: Path) -> bool:
        # The fallback (last in SOURCES): a folder no other format claims gets this format's errors.
        return True

    def load(self, folder: Path) -> Task:
        return load_task(folder)
