"""`perpass sandbox check`."""

from __future__ import annotations

import typer
from rich.table import Table
from rich.text import Text

from perpass.cli.app import JsonOption, app, console, print_json
from perpass.sandbox.check import check_sandbox

sandbox_app = typer.Typer(help="The command sandbox (bubblewrap): check it on this machine.",
                          no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("check")
def check(json_out: JsonOption = False) -> None:
    """Is confinement in force here (bwrap, unprivileged uid, pids cgroup, task Python, no network, read-only
    /proc/sys)? Prints the session start and `true` timings. Exit 1 if not."""
    report = check_sandbox()
    if json_out:
        print_json(report.as_dict())
    else:
        table = Table(title="sandbox", show_header=False)
        for key in ("bwrap", "bwrap_version", "pids_cgroup", "task_python", "host_uid", "start_ms", "true_ms"):
            table.add_row(key, str(getattr(report, key)))
        for name, passed in report.probes.items():
            table.add_row(name, "ok" if passed else "FAILED")
        console.print(table)
        for problem in report.problems:
            console.print(Text.assemble(("problem: ", "bold red"), problem), highlight=False)
    if not report.ok:
        raise typer.Exit(1)
