"""Layering the imports obey: the import-linter contracts in pyproject.toml hold, and importing a
module has no effect on the process (the local server's stop handlers wait for a server)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def lint_imports(root: Path, src: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` with the contracts in root/pyproject.toml, on the perpass package under src."""
    command = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(command).exists():
        pytest.fail("lint-imports is missing: install the dev extra (pip install -e '.[dev]')")
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([command, "--no-cache"], cwd=root, capture_output=True, text=True, timeout=120, env=env)


def test_import_contracts_are_kept() -> None:
    done = lint_imports(ROOT, ROOT / "src")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout


def test_an_import_against_the_layers_breaks_the_contract(tmp_path: Path) -> None:
    """The contract is not vacuous: the endpoints reaching up into the agent (as the smoke check once
    did) is reported, naming both sides."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "src" / "perpass", tmp_path / "src" / "perpass",
                    ignore=shutil.ignore_patterns("__pycache__", "packs"))
    client = tmp_path / "src" / "perpass" / "endpoints" / "client.py"
    client.write_text(client.read_text() + "\nfrom perpass.agent.text_protocol import parse_command  # noqa\n")
    done = lint_imports(tmp_path, tmp_path / "src")
    assert done.returncode != 0
    assert "perpass.endpoints is not allowed to import perpass.agent" in done.stdout, done.stdout[-3000:]


def test_importing_the_local_server_module_installs_no_signal_handler() -> None:
    code = ("import signal; import perpass.endpoints.local, perpass.cli.app, perpass.runs.scheduler; "
            "print(signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "True"
