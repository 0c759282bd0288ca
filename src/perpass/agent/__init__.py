"""The agent loop: tool protocols, budgets, stop reasons. `run_episode` is the entry point.

Imported lazily so that light users (e.g. `perpass.agent.text_protocol` from the smoke check) do
not pull in the sandbox and task packages.
"""

from __future__ import annotations

from typing import Any

__all__ = ["run_episode"]


def __getattr__(name: str) -> Any:
    if name == "run_episode":
        from perpass.agent.loop import run_episode

        return run_episode
    raise AttributeError(name)
