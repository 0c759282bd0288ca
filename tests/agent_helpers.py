"""Shared helpers of the agent tests: run one real episode (scripted HTTP server, bwrap, real task)."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

from perpass.agent.loop import run_episode
from perpass.agent.transcript import read_transcript
from perpass.agent.types import EpisodeResult
from perpass.config import Harness
from perpass.endpoints.kinds import Route, make_route
from perpass.endpoints.routes import LiveRoute, open_route
from perpass.sandbox import open_backend
from perpass.tasks import Task, builtin_tasks

T0 = "t0-smoke-hello"
T1 = "t1-leap-year-rule"


@cache
def task(task_id: str) -> Task:
    return next(t for t in builtin_tasks() if t.id == task_id)


def bash(command: str, **extra: Any) -> dict[str, Any]:
    """A text-protocol reply running `command`."""
    return {"content": f"Next step.\n\n```bash\n{command}\n```", **extra}


def call(name: str, arguments: Any, **extra: Any) -> dict[str, Any]:
    """A native-protocol reply with one tool call (arguments: a dict, or a raw string)."""
    return {"content": "", "tool_calls": [{"name": name, "arguments": arguments}], **extra}


SUBMIT = bash("submit")


def scripted_route(script: list[Any], *, max_retries: int = 0, **harness: Any) -> Route:
    return make_route(name="scripted-test", kind="scripted", script=script, max_retries=max_retries,
                      harness=Harness(**harness))


class Recorder:
    """Wraps a live scripted server's reply selection to keep every request's messages."""

    def __init__(self, live: LiveRoute) -> None:
        assert live.scripted is not None
        self.requests: list[list[dict[str, Any]]] = []
        original = live.scripted.reply_for

        def recording(messages: list[dict[str, Any]]) -> dict[str, Any]:
            self.requests.append(copy.deepcopy(messages))
            return original(messages)

        live.scripted.reply_for = recording  # type: ignore[method-assign]


def run(route: Route, tmp_path: Path, task_id: str = T0, *, record: bool = False,
        **kwargs: Any) -> tuple[EpisodeResult, Recorder | None]:
    with open_route(route, tmp_path / "logs") as live:
        recorder = Recorder(live) if record and live.scripted else None
        result = run_episode(task(task_id), live, open_backend(), tmp_path / "episode", **kwargs)
    return result, recorder


def episode(script: list[Any], tmp_path: Path, task_id: str = T0, **harness: Any) -> EpisodeResult:
    return run(scripted_route(script, **harness), tmp_path, task_id)[0]


def transcript(result: EpisodeResult) -> dict[str, Any]:
    assert result.transcript is not None
    return read_transcript(Path(result.transcript))
