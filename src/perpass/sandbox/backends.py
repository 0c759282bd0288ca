"""Sandbox backends by name (mini-swe-agent's pattern): a new backend is one file and one line here."""

from __future__ import annotations

from perpass.errors import UserError
from perpass.sandbox.bwrap import BwrapBackend
from perpass.sandbox.docker import DockerBackend
from perpass.sandbox.session import SandboxBackend
from perpass.sandbox.unsafe import UnsafeBackend

BACKENDS: dict[str, type[SandboxBackend]] = {
    "bwrap": BwrapBackend,
    "none": UnsafeBackend,
    "docker": DockerBackend,
}
DEFAULT_BACKEND = "bwrap"


def open_backend(name: str = DEFAULT_BACKEND) -> SandboxBackend:
    """The backend called `name`, ready to start sessions; UserError (exit 2) for an unknown or unusable one."""
    try:
        backend = BACKENDS[name]
    except KeyError:
        raise UserError(f"unknown sandbox '{name}'; choose one of: {', '.join(BACKENDS)}") from None
    return backend()
