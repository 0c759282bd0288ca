"""The typer app and what every command shares: error handling, JSON output, common options."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

app = typer.Typer(
    name="perpass",
    help="Rank and route LLMs for coding agents by cost-per-pass, measured on a real agent loop.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Markup off: paths, error texts and model output often hold [brackets] (`pip install 'perpass[local]'`),
# which rich markup would silently eat. Style with `style=` or `Text`, never with [markup] in strings.
console = Console(markup=False)
err_console = Console(stderr=True, markup=False)

RoutesOption = Annotated[
    Path | None, typer.Option("--routes", help="routes.yaml with your routes (built-in routes always exist).")
]
StoreOption = Annotated[Path, typer.Option("--store", help="Folder of the run store.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]
SandboxOption = Annotated[str, typer.Option(
    "--sandbox", help="Sandbox backend: bwrap (default), docker, or none (UNSAFE: commands get full host access).")]
DEFAULT_STORE = Path("perpass-runs")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
