"""`agent: mini-swe-agent`: SWE-agent's ~100-line agent (PyPI `mini-swe-agent`), its `mini` CLI with
its stock configs (mini.yaml: tool calls, for tool_protocol native; mini_textbased.yaml: a fenced command,
for text), through LiteLLM, in yolo mode, exiting when it submits."""

from __future__ import annotations

from perpass.agent.external.base import AGENT_HOME, AGENT_TMP, AgentContext, PipAgent
from perpass.agent.types import StopReason
from perpass.sandbox import CommandResult, Session

TRAJECTORY = f"{AGENT_TMP}/mini.traj.json"
# mini's exit_status (the name of what ended its run) → perpass's stop reason
EXIT_STATUS = {"Submitted": StopReason.SUBMITTED, "LimitsExceeded": StopReason.TURN_LIMIT,
               "TimeExceeded": StopReason.WALL_LIMIT, "RepeatedFormatError": StopReason.FORMAT_ERRORS,
               "FormatError": StopReason.FORMAT_ERRORS, "ContextWindowExceededError": StopReason.CONTEXT_LIMIT}
# harness.tool_protocol picks mini's own two ways of acting: tool calls, or a fenced command in the text
CONFIGS = {"native": ("mini.yaml", "litellm"), "text": ("mini_textbased.yaml", "litellm_textbased")}
READ_STATUS = (f"{AGENT_HOME}/bin/python -c \"import json; "
               f"print(json.load(open('{TRAJECTORY}'))['info'].get('exit_status', ''))\"")


class MiniSweAgent(PipAgent):
    name = "mini-swe-agent"
    package = "mini-swe-agent"
    default_version = "2.4.6"

    def command(self, context: AgentContext) -> str:
        config, model_class = CONFIGS[self.harness.tool_protocol]
        return self.with_args([f"{AGENT_HOME}/bin/mini", "--yolo", "--exit-immediately", "--cost-limit", "0",
                "--model", f"openai/{context.model}", "--model-class", model_class, "--config", config,
                "--config", f"model.model_kwargs.api_base={context.base_url}",
                "--config", "environment.cwd=/workspace",
                "--config", f"environment.timeout={int(context.command_timeout_s)}",
                "--output", TRAJECTORY, "--task", context.instruction])

    def env(self, context: AgentContext) -> dict[str, str]:
        return {**super().env(context), "MSWEA_CONFIGURED": "true", "MSWEA_SILENT_STARTUP": "1",
                # perpass prices the calls; LiteLLM knows no price for a local model and must not look one up
                "MSWEA_COST_TRACKING": "ignore_errors", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}

    def stop_reason(self, result: CommandResult, session: Session) -> StopReason:
        status = session.run(READ_STATUS, 30).output.strip().splitlines()
        return EXIT_STATUS.get(status[-1] if status else "", StopReason.AGENT_CRASHED)
