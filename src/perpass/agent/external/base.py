"""What every external agent adapter provides: how to install it, how to start it on the instruction in
/workspace, which environment points it at the gateway, and how its exit maps to a stop reason."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from perpass.agent.types import StopReason
from perpass.config import Harness
from perpass.sandbox import CommandResult, Session
from perpass.sandbox.task_python import cache_root, ensure_built, ensure_venv

AGENT_HOME = "/opt/agent"  # the agent's install, read-only inside the sandbox
AGENT_TMP = "/tmp/perpass-agent"  # the agent's own files (trajectories) inside the sandbox
DUMMY_KEY = "sk-perpass-gateway"  # what the agent sees; the real key stays with the gateway on the host


@dataclass(frozen=True)
class AgentContext:
    """What an adapter needs to start its agent."""

    instruction: str
    base_url: str  # the gateway as the agent reaches it: http://127.0.0.1:PORT/v1
    model: str  # the route's model name (the gateway sends the route's model whatever the agent says)
    command_timeout_s: float  # per shell command the agent runs


class ExternalAgent(ABC):
    """One agent perpass can install and run. Subclasses set `name` (the `harness.agent` value)."""

    name: ClassVar[str]
    default_version: ClassVar[str | None] = None

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.version = harness.agent_version or self.default_version

    def install(self) -> Path | None:
        """The host folder shown read-only at AGENT_HOME (built once, cached by name and version)."""
        return None

    @abstractmethod
    def command(self, context: AgentContext) -> str:
        """The shell command that runs the agent non-interactively in /workspace."""

    def with_args(self, argv: list[str]) -> str:
        """argv plus the route's agent_args, as one shell command."""
        return shlex.join([*argv, *self.harness.agent_args])

    def env(self, context: AgentContext) -> dict[str, str]:
        """Variables that point the agent at the gateway (OpenAI SDK and LiteLLM spellings both)."""
        return {"OPENAI_API_KEY": DUMMY_KEY, "OPENAI_BASE_URL": context.base_url, "OPENAI_API_BASE": context.base_url,
                "NO_COLOR": "1", "DO_NOT_TRACK": "1"}

    def stop_reason(self, result: CommandResult, session: Session) -> StopReason:
        """How the agent's exit maps to a stop reason (budgets, timeouts and limits are decided before)."""
        return StopReason.SUBMITTED if result.exit_code == 0 else StopReason.AGENT_CRASHED


class PipAgent(ExternalAgent):
    """An agent from PyPI, installed into its own venv (from Debian's python, so it runs inside the sandbox)."""

    package: ClassVar[str]

    def install(self) -> Path:
        folder = cache_root() / "agents" / f"{self.name}-{self.version}"
        return ensure_venv(folder, (f"{self.package}=={self.version}",))


class NpmAgent(ExternalAgent):
    """An agent from npm, installed into its own prefix (`node_modules/.bin/...`), run by the system's node."""

    package: ClassVar[str]

    def install(self) -> Path:
        folder = cache_root() / "agents" / f"{self.name}-{self.version}"
        return ensure_built(folder, lambda scratch: npm_install(scratch, f"{self.package}@{self.version}"))


def npm_install(prefix: Path, package: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"installing {package} needs npm (apt-get install npm)")
    done = subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--no-update-notifier",
                           package], capture_output=True, text=True, timeout=1200)
    if done.returncode != 0:
        raise RuntimeError(f"npm install {package} failed: {done.stderr.strip()[-500:]}")
