"""`agent: aider`: aider (PyPI `aider-chat`) on the instruction as one `--message`, answering yes to
everything, committing its edits itself. aider never pushes, so the adapter pushes what aider committed
(`git push origin HEAD:main`) after it exits: the delivery a user of aider would make by hand."""

from __future__ import annotations

from perpass.agent.external.base import AGENT_HOME, AGENT_TMP, DUMMY_KEY, AgentContext, PipAgent


class Aider(PipAgent):
    name = "aider"
    package = "aider-chat"
    default_version = "0.86.2"

    def command(self, context: AgentContext) -> str:
        aider = self.with_args([
            f"{AGENT_HOME}/bin/aider", "--model", f"openai/{context.model}", "--openai-api-base", context.base_url,
            "--openai-api-key", DUMMY_KEY, "--yes-always", "--auto-commits", "--no-gitignore",
            "--no-check-update", "--no-analytics", "--no-show-release-notes", "--no-show-model-warnings",
            "--no-pretty", "--chat-history-file", f"{AGENT_TMP}/aider.chat.md",
            "--input-history-file", f"{AGENT_TMP}/aider.input", "--message", context.instruction])
        return f"{aider}; status=$?; git push -q origin HEAD:main; exit $status"

    def env(self, context: AgentContext) -> dict[str, str]:
        return {**super().env(context), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
