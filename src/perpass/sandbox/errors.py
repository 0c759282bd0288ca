"""Failures of the sandbox itself (infra), as opposed to anything a command did."""


class SandboxError(RuntimeError):
    """The sandbox could not be started or stopped working for a reason that is not the agent's:
    perpass records it as infra (`sandbox_error`) and re-runs the episode."""


class SessionLost(RuntimeError):
    """The session's supervisor went away while serving a request: what the agent ran killed it."""
