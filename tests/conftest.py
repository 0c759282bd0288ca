"""Shared fixtures: a scripted OpenAI-compatible server on loopback (a real HTTP server), and
`run_perpass`, the command line in a real process (import it: `from conftest import run_perpass`)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from perpass.testing import ScriptedServer

TEST_OUTPUT = Path(__file__).resolve().parent.parent / "test-output"
# The `perpass` entry point run by this interpreter (no dependence on where the venv's scripts are).
PERPASS_CMD = [sys.executable, "-c", "from perpass.cli import main; main()"]


def run_perpass(*args: str, cwd: Path | None = None, timeout: float = 120,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`perpass ARGS...` in a subprocess, output captured as text; never raises on a non-zero exit."""
    return subprocess.run([*PERPASS_CMD, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=env, check=False)


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    with ScriptedServer(["```bash\necho hello\n```", "```bash\nsubmit\n```"]) as server:
        yield server


@pytest.fixture
def test_output() -> Path:
    TEST_OUTPUT.mkdir(exist_ok=True)
    return TEST_OUTPUT
