"""`agent: claude-code`: Anthropic's Claude Code (npm `@anthropic-ai/claude-code`), `claude -p` on the
instruction with permission prompts off (perpass's sandbox holds it). Claude Code speaks Anthropic
Messages, so ANTHROPIC_BASE_URL points at the gateway's /v1/messages (translated to the route's chat
endpoint); its telemetry, error reports, auto-updater and other non-essential traffic are switched off.

npm leaves the package's postinstall (which copies the native binary into place) unrun, so the command
runs the platform's native binary from its optional dependency directly."""

from __future__ import annotations

import platform

from perpass.agent.external.base import AGENT_HOME, DUMMY_KEY, AgentContext, NpmAgent

PLATFORMS = {"x86_64": "linux-x64", "aarch64": "linux-arm64", "arm64": "linux-arm64"}


class ClaudeCode(NpmAgent):
    name = "claude-code"
    package = "@anthropic-ai/claude-code"
    default_version = "2.1.328"

    def command(self, context: AgentContext) -> str:
        binary = (f"{AGENT_HOME}/node_modules/@anthropic-ai/claude-code-"
                  f"{PLATFORMS.get(platform.machine(), 'linux-x64')}/claude")
        return self.with_args([binary, "-p", context.instruction, "--dangerously-skip-permissions",
                               "--model", context.model]) + " </dev/null"

    def env(self, context: AgentContext) -> dict[str, str]:
        gateway = context.base_url.removesuffix("/v1")  # Claude Code adds /v1/messages itself
        return {**super().env(context), "ANTHROPIC_BASE_URL": gateway, "ANTHROPIC_API_KEY": DUMMY_KEY,
                "ANTHROPIC_SMALL_FAST_MODEL": context.model, "DISABLE_TELEMETRY": "1",
                "DISABLE_AUTOUPDATER": "1", "DISABLE_ERROR_REPORTING": "1",
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
