"""What an episode produces: stop reasons, ceilings, steps, and the episode result.

Shared by the agent loop (which makes them), the run store (which keeps them) and the analysis
(which reads them back).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from perpass.endpoints.usage import Usage
from perpass.verifier.verdict import Verdict


class StopReason(StrEnum):
    SUBMITTED = "submitted"
    TURN_LIMIT = "turn_limit"
    CONTEXT_LIMIT = "context_limit"  # the next prompt would not fit the context window
    OUTPUT_TRUNCATED = "output_truncated"  # finish_reason 'length' on the final call or several in a row
    WALL_LIMIT = "wall_limit"
    STUCK = "stuck"  # the same action and observation K times
    FORMAT_ERRORS = "format_errors"  # K replies in a row with no parsable action
    ENDPOINT_ERROR = "endpoint_error"
    OOM = "oom"
    SANDBOX_ERROR = "sandbox_error"
    RESOURCE_LIMIT = "resource_limit"  # the session hit its memory, process, CPU or disk limit
    SESSION_LOST = "session_lost"  # what the agent ran took the sandbox session down
    TOKEN_LIMIT = "token_limit"  # the episode's max_total_tokens were spent
    COST_LIMIT = "cost_limit"  # the episode's max_cost_usd was spent
    AGENT_CRASHED = "agent_crashed"  # an external agent exited with an error before it finished
    WORKER_LOST = "worker_lost"  # the executor's worker process (or its machine) died mid-episode


class Ceiling(StrEnum):
    TURN = "turn"  # ran out of turns or time while still making progress: fixable by config
    TOKEN = "token"  # prompt did not fit, or output cut at max tokens: fixable by config
    CAPABILITY = "capability"  # false done, looped, gave up, never a valid action: not fixable by config
    INFRA = "infra"  # not the model's fault; never counted as a model failure


CEILING_OF_STOP: dict[StopReason, Ceiling] = {
    StopReason.SUBMITTED: Ceiling.CAPABILITY,  # only when the verifier failed it (a false done)
    StopReason.TURN_LIMIT: Ceiling.TURN,
    StopReason.WALL_LIMIT: Ceiling.TURN,
    StopReason.CONTEXT_LIMIT: Ceiling.TOKEN,
    StopReason.OUTPUT_TRUNCATED: Ceiling.TOKEN,
    StopReason.STUCK: Ceiling.CAPABILITY,
    StopReason.FORMAT_ERRORS: Ceiling.CAPABILITY,
    StopReason.ENDPOINT_ERROR: Ceiling.INFRA,
    StopReason.OOM: Ceiling.INFRA,
    StopReason.SANDBOX_ERROR: Ceiling.INFRA,
    StopReason.WORKER_LOST: Ceiling.INFRA,
    # Both are the agent's doing, never infra: an agent must not be able to make its failure not count.
    StopReason.RESOURCE_LIMIT: Ceiling.CAPABILITY,
    StopReason.SESSION_LOST: Ceiling.CAPABILITY,
    StopReason.TOKEN_LIMIT: Ceiling.TOKEN,
    StopReason.COST_LIMIT: Ceiling.TURN,  # ran out of budget, like turns: fixable by config
    StopReason.AGENT_CRASHED: Ceiling.CAPABILITY,  # the agent (the scaffold is part of the route) failed
}

INFRA_STOPS = frozenset(s for s, c in CEILING_OF_STOP.items() if c is Ceiling.INFRA)


def ceiling_of(stop_reason: str, passed: bool) -> str | None:
    """The ceiling a finished episode hit, or None when it passed."""
    stop = StopReason(stop_reason)
    if CEILING_OF_STOP[stop] is Ceiling.INFRA:
        return Ceiling.INFRA.value
    if passed:
        return None
    return CEILING_OF_STOP[stop].value


@dataclass
class Step:
    """One call plus the tool action it produced and that action's observation."""

    index: int
    messages_in: list[dict[str, Any]]  # the messages appended to the history since the previous call
    reply: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    action: str | None = None  # the parsed command / tool call, None when unparsable
    observation: str | None = None
    exit_code: int | None = None
    usage: Usage = field(default_factory=Usage)  # the call's tokens, timings and finish reason
    action_s: float | None = None  # run time of the action in the sandbox
    harness_s: float | None = None  # time spent in perpass itself for this step
    assistant: dict[str, Any] = field(default_factory=dict)  # the exact message appended for the reply

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EpisodeResult:
    task_id: str
    route: str
    stop_reason: StopReason
    passed: bool
    submitted: bool
    turns: int
    calls: int
    prompt_tokens: int | None
    cached_prompt_tokens: int | None
    completion_tokens: int | None
    reasoning_tokens: int | None
    wall_s: float
    model_s: float  # wall time of all calls (local cost is priced from this)
    verifier_output: str = ""
    error: str | None = None  # what went wrong, for infra stops
    steps: list[Step] = field(default_factory=list)
    transcript: str | None = None  # path of the transcript file, when written
    setup_s: float | None = None  # workspace + bare remote creation
    verify_s: float | None = None  # the verifier's whole run (its Verdict.timings are inside it)
    verdict: Verdict | None = None  # reason, per-test outcomes and evidence; None when not verified
    host_load: float | None = None  # the host's 1-min load average, the higher of start and end
    host_cpus: int | None = None  # its cores: load above them means the episode was measured contended
    agent: str = "perpass"  # harness.agent: perpass's own loop or an external agent
    agent_log: str | None = None  # an external agent's own stdout/stderr (head and tail)

    @property
    def false_done(self) -> bool:
        """Said it was done and the verifier disagreed; an infra episode (the verifier never ran) is not one."""
        return self.submitted and not self.passed and not self.infra

    @property
    def ceiling(self) -> str | None:
        return ceiling_of(self.stop_reason, self.passed)

    @property
    def infra(self) -> bool:
        return StopReason(self.stop_reason) in INFRA_STOPS

    def summary(self) -> EpisodeSummary:
        return EpisodeSummary(
            task=self.task_id, route=self.route, stop_reason=self.stop_reason, ceiling=self.ceiling,
            passed=self.passed, false_done=self.false_done, turns=self.turns, calls=self.calls,
            prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens,
            wall_s=round(self.wall_s, 3), transcript=self.transcript,
        )


class EpisodeSummary(BaseModel):
    """One episode in a few fields: `perpass episode --json` prints it, the transcript starts with it."""

    task: str
    route: str
    stop_reason: StopReason
    ceiling: Ceiling | None = Field(description="the ceiling a failed or infra episode hit; null when it passed")
    passed: bool
    false_done: bool = Field(description="it said it was done and the verifier disagreed (never for infra)")
    turns: int
    calls: int
    prompt_tokens: int | None = Field(description="null when the endpoint did not report them")
    completion_tokens: int | None
    wall_s: float
    transcript: str | None = Field(description="path of the transcript file")
