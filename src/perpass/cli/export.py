"""`perpass export`: the run store as Parquet, CSV or JSON Lines files, for pandas, DuckDB, notebooks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from perpass.cli.app import DEFAULT_STORE, StoreOption, app, console
from perpass.runs.export import FORMATS, export_store


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", help="Folder for the files (one per table).")],
    fmt: Annotated[str, typer.Option("--format", help=f"{' | '.join(FORMATS)} (parquet needs perpass[export]).")]
    = "parquet",
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Write the store's runs, cells, episodes, steps and calls, one file per table."""
    written = export_store(store, out, fmt)  # type: ignore[arg-type]  # checked inside, with a clear error
    table = Table(title=f"exported to {out}")
    for column in ("table", "rows", "file"):
        table.add_column(column)
    for item in written:
        table.add_row(item.table, str(item.rows), str(item.path))
    console.print(table)
