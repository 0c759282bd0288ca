"""`perpass tasks import`: run an importer (perpass.tasks.importers), then keep only the tasks whose
starting repository fails their tests in the sandbox (a stub that already passes is no task)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from perpass.errors import UserError
from perpass.sandbox import SandboxBackend
from perpass.tasks.importers import IMPORTERS, ImportOptions, ImportReport
from perpass.tasks.sources import load_task
from perpass.verifier import InfraError
from perpass.verifier.sandboxed import unchanged_delivery, verify


def import_tasks(kind: str, source: Path, out: Path, options: ImportOptions, backend: SandboxBackend,
                 progress: Callable[[str], None] = lambda line: None) -> ImportReport:
    """Convert, load and keep only tasks whose starting repository fails their tests; all written under
    `out` at the end (a scratch folder inside it until then), so a failed import leaves nothing behind."""
    if kind not in IMPORTERS:
        raise UserError(f"unknown source '{kind}'; use one of {', '.join(IMPORTERS)}")
    if not source.is_dir():
        raise UserError(f"{source}: not a folder")
    out.mkdir(parents=True, exist_ok=True)
    converted = ImportReport()
    report = ImportReport(skipped=converted.skipped)
    with tempfile.TemporaryDirectory(prefix=".perpass-import-", dir=out) as scratch:
        IMPORTERS[kind]().convert(source, Path(scratch), options, converted)
        for index, folder in enumerate(converted.written, 1):
            why = stub_problem(folder, backend)
            progress(f"[{index}/{len(converted.written)}] {folder.name}: {why or 'ok'}")
            if why:
                report.skipped.append((folder.name, why))
            elif (out / folder.name).exists():
                report.skipped.append((folder.name, f"{out / folder.name} already exists"))
            else:
                report.written.append(folder.rename(out / folder.name))
    return report


def stub_problem(folder: Path, backend: SandboxBackend) -> str | None:
    """Why the converted task is no task: it does not load, or its unchanged repository already passes."""
    try:
        task = load_task(folder)
        verdict = verify(task, unchanged_delivery(task), backend)
    except (UserError, InfraError) as err:
        return str(err)
    return "the stub already passes the tests" if verdict.passed else None
