"""Command line: one command per workflow step. It parses, calls, and prints; nothing more.

Every module in this package registers its commands on `perpass.cli.app.app` when imported.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

from rich.text import Text

from perpass.cli.app import app, err_console
from perpass.errors import RouteFailed, UserError

# Workflow order, so `perpass --help` reads like the six steps; any other module comes after.
_ORDER = ["hw", "runs", "smoke", "episode", "tasks", "analysis", "prices", "report", "export", "demo", "sandbox",
          "schema"]
_found = [m.name for m in pkgutil.iter_modules(__path__) if m.name != "app"]
for _name in [n for n in _ORDER if n in _found] + sorted(set(_found) - set(_ORDER)):
    importlib.import_module(f"{__name__}.{_name}")


def main() -> None:
    try:
        app()
    except UserError as err:
        err_console.print(Text.assemble(("error: ", "bold red"), str(err)), highlight=False, soft_wrap=True)
        sys.exit(err.exit_code)
    except RouteFailed as err:
        err_console.print(Text.assemble(("failed: ", "bold red"), str(err)), highlight=False, soft_wrap=True)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted; run the same command again to resume")
        sys.exit(130)
