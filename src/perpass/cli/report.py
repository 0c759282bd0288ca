"""`perpass report`: the single-file HTML report (decision, layers, plots, cards, every transcript)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from perpass.cli.app import DEFAULT_STORE, StoreOption, app, console


@app.command()
def report(
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write, e.g. report.html.")],
    store: StoreOption = DEFAULT_STORE,
    prices: Annotated[Path | None, typer.Option("--prices", help=(
        "Prices file: routes: {NAME: {prices|local_costs}}, overheads, min_pass_rate."))] = None,
) -> None:
    """One self-contained HTML file to open in any browser, offline: no CDN, nothing to install."""
    from perpass.report.html_report import write_report  # numpy and friends only when writing

    path = write_report(store, out, prices)
    size = path.stat().st_size / 1e6
    console.print(f"report: {path}  ({size:.1f} MB)", highlight=False)
