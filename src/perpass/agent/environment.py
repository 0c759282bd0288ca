"""The agent's environment: the episode's sandbox session, with the episode's command budgets."""

from __future__ import annotations

import time
from dataclasses import dataclass

from perpass.agent.budget import clean_output, truncate_middle
from perpass.sandbox import CommandResult, Session

MIN_COMMAND_S = 1.0  # never start a command with less time than this; the wall check stops the loop first


@dataclass
class Outcome:
    """What one action did, as the agent will see it and as the transcript records it."""

    action: str
    observation: str
    exit_code: int | None = None
    action_s: float = 0.0
    format_error: bool = False  # the reply had no usable action (counted toward format_error_limit)
    submitted: bool = False
    sandbox_error: str | None = None  # the sandbox itself failed: infra, the episode stops
    limit: str | None = None  # a session-wide limit was hit: the episode stops (resource_limit)
    lost: bool = False  # the session died under this command: the episode stops, a fail (session_lost)


@dataclass
class Environment:
    session: Session
    command_timeout_s: float
    max_observation_chars: int
    deadline: float  # time.monotonic() at which the episode's wall limit is reached

    def run(self, command: str, action: str | None = None) -> Outcome:
        """Run one shell command in the sandbox and turn its result into an observation."""
        timeout = max(MIN_COMMAND_S, min(self.command_timeout_s, self.deadline - time.monotonic()))
        started = time.perf_counter()
        try:
            result = self.session.run(command, timeout)
        except Exception as err:  # the contract says run() reports, not raises; stay safe if it does
            result = CommandResult(None, "", False, time.perf_counter() - started, f"{type(err).__name__}: {err}")
        took = time.perf_counter() - started
        if result.error:
            return Outcome(action or command, f"sandbox failure: {result.error}", None, took,
                           sandbox_error=result.error)
        return Outcome(action or command, self.observe(result, timeout), result.exit_code, took,
                       limit=result.limit, lost=result.lost)

    def observe(self, result: CommandResult, timeout: float) -> str:
        output = truncate_middle(clean_output(result.output), self.max_observation_chars)
        if result.timed_out:
            head = f"[timed out after {timeout:.0f}s; the command and its children were killed]"
        else:
            head = f"[exit code {result.exit_code}]"
        return f"{head}\n{output}" if output else head
