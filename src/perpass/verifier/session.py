"""What the verifier needs from a sandbox session (issue 10's Session, structurally): run a command
inside it with a channel on fd 3, put a tar in, take a tar out. The bwrap session of perpass.sandbox
satisfies it; the tests drive the same code with a host-subprocess stand-in."""

from __future__ import annotations

from typing import Protocol


class CommandOutcome(Protocol):
    """A finished command. error is set only when the SANDBOX failed (infra), never the command."""

    exit_code: int | None
    output: str  # stdout + stderr, capped
    timed_out: bool
    wall_s: float
    error: str | None
    killed_by: str | None
    channel: bytes  # what the command wrote to fd 3, read by the supervisor as it arrived


class Session(Protocol):
    def run(self, command: str, timeout_s: float, *, channel: bool = False) -> CommandOutcome: ...

    def put_tar(self, dest: str, data: bytes) -> None: ...

    def export_tar(self, path: str) -> bytes: ...

    def close(self) -> None: ...
