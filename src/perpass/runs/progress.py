"""Progress of a run: rich bars on a terminal, one plain line per episode otherwise (CI, logs)."""

from __future__ import annotations

import sys
import threading
import time
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn


class RunProgress(Protocol):
    def route_started(self, route: str, total: int, done: int) -> None: ...
    def note(self, route: str, message: str) -> None: ...
    def episode_started(self, route: str, label: str, task_id: str, repeat: int) -> None: ...
    def turn(self, route: str, label: str, task_id: str, turn: int) -> None: ...
    def episode_finished(
        self, route: str, label: str, task_id: str, repeat: int, outcome: str, passed: bool, wall_s: float
    ) -> None: ...
    def close(self) -> None: ...


class PlainProgress:
    """A line per episode and per event: greppable, no terminal control codes."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.lock = threading.Lock()
        self.counts: dict[str, list[int]] = {}  # route -> [done, total, passes]

    def _line(self, text: str) -> None:
        with self.lock:
            self.out.write(text + "\n")
            self.out.flush()

    def route_started(self, route: str, total: int, done: int) -> None:
        self.counts[route] = [done, total, 0]
        self._line(f"[{route}] {done}/{total} episodes already done")

    def note(self, route: str, message: str) -> None:
        self._line(f"[{route}] {message}")

    def episode_started(self, route: str, label: str, task_id: str, repeat: int) -> None:
        pass

    def turn(self, route: str, label: str, task_id: str, turn: int) -> None:
        pass

    def episode_finished(
        self, route: str, label: str, task_id: str, repeat: int, outcome: str, passed: bool, wall_s: float
    ) -> None:
        with self.lock:  # read the counts under the lock too: episodes of a route finish concurrently
            c = self.counts.setdefault(route, [0, 0, 0])
            c[0] += 1
            c[2] += int(passed)
            text = f"[{route}] {c[0]}/{c[1]} {label} {task_id} r{repeat}: {outcome} ({wall_s:.1f}s) passes {c[2]}"
        self._line(text)

    def close(self) -> None:
        pass


class RichProgress:
    """Per-route bars with passes so far, ETA, and the current episode's turn."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("passes {task.fields[passes]}"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[now]}"),
            console=self.console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}
        self.passes: dict[str, int] = {}
        self.lock = threading.Lock()
        self.progress.start()

    def _task(self, route: str) -> TaskID:
        if route not in self.tasks:
            self.tasks[route] = self.progress.add_task(route, total=None, passes=0, now="")
            self.passes[route] = 0
        return self.tasks[route]

    def route_started(self, route: str, total: int, done: int) -> None:
        with self.lock:
            self.progress.update(self._task(route), total=total, completed=done)

    def note(self, route: str, message: str) -> None:
        self.progress.console.print(f"[{route}] {message}", highlight=False, markup=False)

    def episode_started(self, route: str, label: str, task_id: str, repeat: int) -> None:
        with self.lock:
            self.progress.update(self._task(route), now=f"{label} {task_id} r{repeat}")

    def turn(self, route: str, label: str, task_id: str, turn: int) -> None:
        with self.lock:
            self.progress.update(self._task(route), now=f"{label} {task_id} turn {turn}")

    def episode_finished(
        self, route: str, label: str, task_id: str, repeat: int, outcome: str, passed: bool, wall_s: float
    ) -> None:
        with self.lock:
            self.passes[route] = self.passes.get(route, 0) + int(passed)
            self.progress.update(self._task(route), advance=1, passes=self.passes[route])

    def close(self) -> None:
        self.progress.stop()


class QuietProgress(PlainProgress):
    """For library callers and tests: nothing printed."""

    def _line(self, text: str) -> None:
        pass


def make_progress(mode: str = "auto", console: Console | None = None) -> RunProgress:
    """`auto`: rich bars on a terminal, plain lines otherwise; or `rich`, `plain`, `quiet`."""
    if mode == "quiet":
        return QuietProgress()
    if mode == "rich" or (mode == "auto" and sys.stdout.isatty()):
        return RichProgress(console)
    return PlainProgress()


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    return time.strftime("%H:%M:%S", time.gmtime(seconds)) if seconds < 86400 else f"{seconds / 3600:.0f} h"

