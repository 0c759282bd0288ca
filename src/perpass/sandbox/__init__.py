"""Confined command execution for agent episodes: one sandbox session per episode, backends by name
(bwrap by default), the task Python, and the seeds sessions start from.

See docs/sandbox.md for what is visible inside, the limits, and how each is enforced."""

from perpass.sandbox.backends import BACKENDS, DEFAULT_BACKEND, open_backend
from perpass.sandbox.errors import SandboxError
from perpass.sandbox.session import SandboxBackend, Seed, Session, SessionSpec
from perpass.sandbox.task_python import task_python
from perpass.sandbox.types import INSIDE_PATHS, CommandResult, Limits, Mount, SessionPaths
from perpass.sandbox.workspace import prepare_seed

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "INSIDE_PATHS", "CommandResult", "Limits", "Mount", "SandboxBackend",
           "SandboxError", "Seed", "Session", "SessionPaths", "SessionSpec", "open_backend", "prepare_seed",
           "task_python"]
