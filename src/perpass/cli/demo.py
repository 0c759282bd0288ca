"""`perpass demo`: the whole workflow on the embedded model; no network, no API key."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from perpass.cli.app import app, console
from perpass.cli.smoke import print_smoke
from perpass.config import builtin_routes
from perpass.endpoints.smoke import run_smoke


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Output folder for the demo's store, cards and report.")] = Path(
        "perpass-demo"
    ),
) -> None:
    """Run the workflow on the embedded SmolLM2-135M model and show what it measured."""
    out.mkdir(parents=True, exist_ok=True)
    route = builtin_routes()["local-smollm2"]
    console.rule("smoke: local-smollm2 (embedded SmolLM2-135M-Instruct via llama-cpp-python)")
    result = run_smoke(route, out / "logs")
    print_smoke(result)
    if not result.ok:
        raise typer.Exit(1)
