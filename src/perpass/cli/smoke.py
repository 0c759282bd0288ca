"""`perpass smoke ROUTE`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from perpass.cli.app import DEFAULT_STORE, JsonOption, RoutesOption, app, console, print_json
from perpass.endpoints.routes import get_route
from perpass.runs.smoke import SmokeResult, run_smoke

SMOKE_KEYS = ("route", "ok", "reason", "calls", "prompt_tokens", "completion_tokens", "decode_tok_s",
              "peak_rss_mb", "prompt_tok_s", "first_reply_s", "server_start_s")


def print_smoke(result: SmokeResult) -> None:
    table = Table(title=f"smoke: {result.route}", show_header=False)
    for key in SMOKE_KEYS[1:]:
        value = getattr(result, key)
        table.add_row(key, f"{value:.2f}" if isinstance(value, float) else str(value))
    console.print(table)


@app.command()
def smoke(
    route: Annotated[str, typer.Argument(help="Route name, e.g. local-smollm2.")],
    routes: RoutesOption = None,
    log_dir: Annotated[Path, typer.Option(help="Where local server logs go.")] = DEFAULT_STORE / "logs",
    json_out: JsonOption = False,
) -> None:
    """Step 4's gate: does the route answer, and can its replies be parsed? Exit 1 if not."""
    result = run_smoke(get_route(route, routes), log_dir)
    if json_out:
        print_json({k: getattr(result, k) for k in SMOKE_KEYS})
    else:
        print_smoke(result)
    if not result.ok:
        raise typer.Exit(1)
