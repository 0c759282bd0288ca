"""`perpass schema routes|plan|status|episode|transcript`: the JSON Schema of a file or of a `--json` output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from perpass import files
from perpass.cli.app import app, console
from perpass.errors import UserError
from perpass.runs.json_schemas import SCHEMAS, schema_text


@app.command()
def schema(
    name: Annotated[str, typer.Argument(help=f"Which schema: {', '.join(SCHEMAS)}.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write it to this file instead of printing it.")] = None,
) -> None:
    """Print the JSON Schema of routes.yaml, plan.yaml, `status --json`, `episode --json` or transcript.json."""
    if name not in SCHEMAS:
        raise UserError(f"unknown schema '{name}'; use one of {', '.join(SCHEMAS)}")
    if out is None:
        sys.stdout.write(schema_text(name))
        return
    files.write_text(out, schema_text(name))
    console.print(f"wrote {out}")
