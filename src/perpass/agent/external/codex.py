"""`agent: codex`: OpenAI's Codex CLI (npm `@openai/codex`), `codex exec` on the instruction, approvals
and its own sandbox off (perpass's sandbox holds it). Codex speaks only the Responses API, so its
provider points at the gateway's /v1/responses (translated to the route's chat endpoint)."""

from __future__ import annotations

from perpass.agent.external.base import AGENT_HOME, AgentContext, NpmAgent


class Codex(NpmAgent):
    name = "codex"
    package = "@openai/codex"
    default_version = "0.169.0"

    def command(self, context: AgentContext) -> str:
        provider = (f'model_providers.perpass={{name="perpass", base_url="{context.base_url}", '
                    'env_key="OPENAI_API_KEY", wire_api="responses"}')
        codex = self.with_args([
            f"{AGENT_HOME}/node_modules/.bin/codex", "exec", "--skip-git-repo-check",
            "--dangerously-bypass-approvals-and-sandbox", "--model", context.model,
            "--config", 'model_provider="perpass"', "--config", provider, context.instruction])
        return f'mkdir -p "$HOME/.codex" && {codex} </dev/null'
