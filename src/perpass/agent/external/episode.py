"""One episode of an external agent: install it, open the episode's metering gateway, start the
forwarder and then the agent as one long command in the sandbox session, and read how it stopped.

The agent's calls (from the gateway) become the episode's steps; its own stdout/stderr is saved as
agent.log beside the transcript."""

from __future__ import annotations

import secrets
import shlex
import shutil
import time
from pathlib import Path

from perpass import files
from perpass.agent.budget import Spend, truncate_middle
from perpass.agent.external.base import AGENT_HOME, AGENT_TMP, AgentContext, ExternalAgent
from perpass.agent.gateway import GATEWAY_PORT, MeteringGateway
from perpass.agent.gateway.server import SOCKET_NAME
from perpass.agent.transcript import ExternalAgentInfo
from perpass.agent.types import Step, StopReason
from perpass.endpoints.live import LiveRoute
from perpass.errors import UserError
from perpass.sandbox import INSIDE_PATHS, Mount, Session
from perpass.sandbox.task_python import TASK_PYTHON_INSIDE, cache_root
from perpass.tasks import Task

GATEWAY_INSIDE = "/opt/perpass-gateway"  # the gateway's socket folder, inside the sandbox
FORWARDER = (f"{TASK_PYTHON_INSIDE}/bin/python -I -S {INSIDE_PATHS.kit}/gateway/forward.py "
             f"{GATEWAY_PORT} {GATEWAY_INSIDE}/{SOCKET_NAME} </dev/null >/dev/null 2>&1 && mkdir -p {AGENT_TMP}")
AGENT_LOG = "agent.log"
STORED_LOG_CHARS = 64_000  # of the agent's log kept in the run store (the episode folder has it all)
END_GRACE_S = 1.0  # after a budget refusal, how long the agent may take to stop by itself
Stop = tuple[StopReason, str | None]


def gateway_folder() -> Path:
    """A fresh, unguessable folder for one gateway socket; its parent lets others through but not list it."""
    parent = cache_root() / "gateway"
    parent.mkdir(parents=True, exist_ok=True)
    parent.chmod(0o711)
    return parent / secrets.token_hex(8)


class ExternalRun:
    """The external agent's side of run_episode: the same attributes as AgentLoop (steps, calls,
    model_s, submitted, protocol, tools) so the episode's result is built the same way."""

    protocol = "external"
    tools = None

    def header(self) -> ExternalAgentInfo:
        """What the transcript adds for an external agent: which one, its log, every call the gateway saw."""
        return ExternalAgentInfo(agent=self.agent.name, agent_version=self.agent.version, agent_log=AGENT_LOG,
                                 gateway_calls=[call.summary() for call in self.gateway.calls])

    def __init__(self, task: Task, live: LiveRoute, agent: ExternalAgent, episode_dir: Path, deadline: float) -> None:
        if live.endpoint is None:
            raise UserError(f"route {live.route.name}: agent {agent.name} needs a model; the oracle route "
                            "runs only with harness.agent: perpass")
        self.task, self.live, self.agent, self.deadline = task, live, agent, deadline
        self.episode_dir = episode_dir
        self.spend = Spend.for_harness(live.route.harness, deadline)
        self.session: Session | None = None
        self.gateway = MeteringGateway(live.route, live.endpoint, self.spend, gateway_folder(),
                                       on_budget_stop=self._end_agent)
        self.steps: list[Step] = []
        self.calls = 0
        self.model_s = 0.0
        self.submitted = False
        self.log: str | None = None  # the agent's own stdout/stderr, head and tail

    def prepare(self) -> tuple[Mount, ...]:
        """Install the agent (cached) and open the gateway: what the session must show read-only."""
        installed = self.agent.install()
        self.gateway.start()
        mounts = [Mount(str(self.gateway.folder), GATEWAY_INSIDE)]
        if installed is not None:
            mounts.append(Mount(str(installed), AGENT_HOME))
        return tuple(mounts)

    def run(self, session: Session) -> Stop:
        try:
            return self._run(session)
        finally:
            self.session = None  # the agent's command is over: nothing left to interrupt
            self._collect()

    def _end_agent(self) -> None:
        """A budget is used up: the agent gets its refusal, then a moment to stop on its own, then is ended."""
        time.sleep(END_GRACE_S)
        if self.session is not None:
            self.session.interrupt()

    def _run(self, session: Session) -> Stop:
        self.session = session
        started = session.run(FORWARDER, 30)
        if started.error or started.exit_code != 0:
            return StopReason.SANDBOX_ERROR, f"the gateway forwarder did not start: {started.error or started.output}"
        harness = self.live.route.harness
        context = AgentContext(self.task.instruction, f"http://127.0.0.1:{GATEWAY_PORT}/v1", self.live.route.model,
                               harness.command_timeout_s)
        exports = "".join(f"export {key}={shlex.quote(value)}; " for key, value in self.agent.env(context).items())
        timeout = max(1.0, self.deadline - time.monotonic())
        result = session.run(f"{exports}cd {INSIDE_PATHS.workspace} && {self.agent.command(context)}", timeout)
        files.write_text(self.episode_dir / AGENT_LOG, result.output)
        self.log = truncate_middle(result.output, STORED_LOG_CHARS)
        if result.error:
            return StopReason.SANDBOX_ERROR, result.error
        if result.limit:
            return StopReason.RESOURCE_LIMIT, f"the session hit its {result.limit} limit"
        if result.lost:
            return StopReason.SESSION_LOST, "the sandbox session ended under the agent"
        if self.gateway.infra_error:
            return StopReason.ENDPOINT_ERROR, self.gateway.infra_error
        if self.gateway.budget_stop is not None:
            return self.gateway.budget_stop[0], None
        if result.timed_out:
            return StopReason.WALL_LIMIT, None
        reason = self.agent.stop_reason(result, session)
        self.submitted = reason is StopReason.SUBMITTED
        return reason, None

    def _collect(self) -> None:
        self.steps = self.gateway.steps()
        self.calls = sum(1 for call in self.gateway.calls if call.forwarded)
        self.model_s = sum(call.latency_s for call in self.gateway.calls)

    def close(self) -> None:
        self.gateway.stop()
        shutil.rmtree(self.gateway.folder, ignore_errors=True)
