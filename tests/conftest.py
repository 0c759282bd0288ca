"""Shared fixtures: a scripted OpenAI-compatible server on loopback (a real HTTP server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from perpass.testing import ScriptedServer

TEST_OUTPUT = Path(__file__).resolve().parent.parent / "test-output"


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    with ScriptedServer(["```bash\necho hello\n```", "```bash\nsubmit\n```"]) as server:
        yield server


@pytest.fixture
def test_output() -> Path:
    TEST_OUTPUT.mkdir(exist_ok=True)
    return TEST_OUTPUT
