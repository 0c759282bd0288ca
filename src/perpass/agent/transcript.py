"""The episode transcript: every step as it happened, written once at the end of the episode.

Its shape is the `Transcript` model; `docs/schemas/transcript.schema.json` is generated from it
(`perpass schema transcript`) and a test checks real transcripts against that file. `version`
changes when a field changes meaning or goes away (adding an optional field does not change it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from perpass import files
from perpass.agent.types import EpisodeResult, EpisodeSummary, Step
from perpass.verifier.verdict import Verdict

TRANSCRIPT_NAME = "transcript.json"
# 2: the verdict (reason, per-test outcomes, evidence); 3: typed (this model, its JSON Schema).
TRANSCRIPT_VERSION: Literal[3] = 3


class GatewayCallInfo(BaseModel):
    """One call an external agent made to its metering gateway, including those refused (no step shows them)."""

    index: int
    status: int = Field(description="the HTTP status the agent got (403: a budget refused it)")
    error: str | None
    forwarded: bool = Field(description="sent to the endpoint")
    stream: bool
    latency_s: float
    cost_usd: float


class ExternalAgentInfo(BaseModel):
    agent: str
    agent_version: str | None
    agent_log: str = Field(description="the agent's own stdout/stderr, a file beside this transcript")
    gateway_calls: list[GatewayCallInfo]


class TranscriptHeader(BaseModel):
    """What ran: the task, the route and its config, the sandbox and the tool protocol."""

    task: str
    task_hash: str
    tier: str
    route: str
    route_kind: str
    config_hash: str
    sandbox: str
    protocol: str = Field(description="tool protocol: text (fenced bash) or native (function calls)")
    tools: list[dict[str, Any]] | None = Field(None, description="the tool definitions sent (native protocol)")
    external: ExternalAgentInfo | None = Field(None, description="an external agent's run (docs/agents.md)")


class TokenTotals(BaseModel):
    """Sums over the episode's calls; null when any call did not report the count."""

    prompt: int | None
    cached_prompt: int | None
    completion: int | None
    reasoning: int | None


class EpisodeTimings(BaseModel):
    wall_s: float
    model_s: float = Field(description="wall time of all calls (local cost is priced from it)")
    setup_s: float | None
    verify_s: float | None


class Transcript(TranscriptHeader):
    """The `transcript.json` of one episode."""

    version: Literal[3] = TRANSCRIPT_VERSION
    summary: EpisodeSummary
    submitted: bool
    error: str | None = Field(description="what went wrong, for infra stops")
    tokens: TokenTotals
    timings: EpisodeTimings
    verifier_output: str
    verdict: Verdict | None = Field(description="the verifier's verdict; null when it did not run (infra)")
    steps: list[Step]


def transcript_of(result: EpisodeResult, header: TranscriptHeader) -> Transcript:
    return Transcript(
        **header.model_dump(),
        summary=result.summary(),
        submitted=result.submitted,
        error=result.error,
        tokens=TokenTotals(prompt=result.prompt_tokens, cached_prompt=result.cached_prompt_tokens,
                           completion=result.completion_tokens, reasoning=result.reasoning_tokens),
        timings=EpisodeTimings(wall_s=result.wall_s, model_s=result.model_s, setup_s=result.setup_s,
                               verify_s=result.verify_s),
        verifier_output=result.verifier_output,
        verdict=result.verdict,
        steps=result.steps,
    )


def write_transcript(result: EpisodeResult, episode_dir: Path, header: TranscriptHeader) -> Path:
    """Write `episode_dir/transcript.json` atomically, so a killed run never leaves half a file."""
    path = episode_dir / TRANSCRIPT_NAME
    data = {"version": TRANSCRIPT_VERSION, **transcript_of(result, header).model_dump(mode="json")}
    return files.write_text(path, json.dumps(data, indent=1, default=str))


def read_transcript(path: Path) -> dict[str, Any]:
    """A transcript as plain data (any version; `Transcript.model_validate` checks a current one)."""
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def replay_messages(transcript: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The exact message list sent with each call, rebuilt from the steps (append-only history)."""
    history: list[dict[str, Any]] = []
    sent = []
    for step in transcript["steps"]:
        history.extend(step["messages_in"])
        sent.append(list(history))
        history.append(step["assistant"])
    return sent
