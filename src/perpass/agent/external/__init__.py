"""Agents teams run, run by perpass: one adapter module per agent, behind the metering gateway.

A new agent is one module with an ExternalAgent subclass and one line in AGENTS (`harness.agent`)."""

from __future__ import annotations

from perpass.agent.external.aider import Aider
from perpass.agent.external.base import ExternalAgent
from perpass.agent.external.claude_code import ClaudeCode
from perpass.agent.external.codex import Codex
from perpass.agent.external.command import CommandAgent
from perpass.agent.external.mini_swe_agent import MiniSweAgent
from perpass.config import Harness
from perpass.errors import UserError

BUILTIN_AGENT = "perpass"
AGENTS: dict[str, type[ExternalAgent]] = {
    MiniSweAgent.name: MiniSweAgent,
    Aider.name: Aider,
    Codex.name: Codex,
    ClaudeCode.name: ClaudeCode,
    CommandAgent.name: CommandAgent,
}


def external_agent(harness: Harness) -> ExternalAgent | None:
    """The adapter of harness.agent; None for perpass's own loop; UserError for an unknown name."""
    if harness.agent == BUILTIN_AGENT:
        return None
    if harness.agent not in AGENTS:
        known = ", ".join([BUILTIN_AGENT, *AGENTS])
        raise UserError(f"harness.agent: unknown agent '{harness.agent}'; known agents: {known}")
    return AGENTS[harness.agent](harness)


__all__ = ["AGENTS", "BUILTIN_AGENT", "ExternalAgent", "external_agent"]
