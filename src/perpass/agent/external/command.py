"""`agent: command`: any command-line agent perpass does not know, from `harness.agent_command`.

`{instruction}` in the command line becomes the task's instruction, quoted for the shell. The agent
finds the gateway in OPENAI_BASE_URL / OPENAI_API_BASE; exit 0 means it finished."""

from __future__ import annotations

import shlex

from perpass.agent.external.base import AgentContext, ExternalAgent
from perpass.config import Harness
from perpass.errors import UserError


class CommandAgent(ExternalAgent):
    name = "command"

    def __init__(self, harness: Harness) -> None:
        super().__init__(harness)
        if not harness.agent_command:
            raise UserError("harness.agent: command needs harness.agent_command, a command line with {instruction}")

    def command(self, context: AgentContext) -> str:
        line = (self.harness.agent_command or "").replace("{instruction}", shlex.quote(context.instruction))
        return " ".join([line, *map(shlex.quote, self.harness.agent_args)])
