"""Confined command execution for agent episodes (bubblewrap), workspaces and the task Python.

See docs/sandbox.md for what is visible inside, the limits, and how each is enforced."""

from perpass.sandbox.runner import Sandbox
from perpass.sandbox.task_python import task_python
from perpass.sandbox.types import CommandResult, Limits, Workspace
from perpass.sandbox.workspace import create_workspace

__all__ = ["CommandResult", "Limits", "Sandbox", "Workspace", "create_workspace", "task_python"]
