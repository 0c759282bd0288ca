"""Command line: one command per workflow step. It parses, calls, and prints; nothing more.

Every module in this package registers its commands on `perpass.cli.app.app` when imported.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

from perpass.cli.app import app, err_console
from perpass.errors import RouteFailed, UserError

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "app":
        importlib.import_module(f"{__name__}.{_module.name}")


def main() -> None:
    try:
        app()
    except UserError as err:
        err_console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(err.exit_code)
    except RouteFailed as err:
        err_console.print(f"[bold red]failed:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted; run the same command again to resume")
        sys.exit(130)
