"""Importers: turn another project's exercises into perpass task folders (`perpass tasks import KIND PATH
--out DIR`), as a registry (name → class). Adding one is a file here and a line in IMPORTERS. An importer
writes ordinary perpass folders (docs/tasks.md) and says why it skipped what it skipped;
perpass.runs.importing checks them in the sandbox."""

from __future__ import annotations

from perpass.tasks.importers.base import Importer, ImportOptions, ImportReport
from perpass.tasks.importers.exercism import ExercismImporter

IMPORTERS: dict[str, type[Importer]] = {"exercism": ExercismImporter}

__all__ = ["IMPORTERS", "ImportOptions", "ImportReport", "Importer"]
