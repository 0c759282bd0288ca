"""The episode transcript: every step as it happened, written once at the end of the episode."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from perpass import files
from perpass.agent.types import EpisodeResult

TRANSCRIPT_NAME = "transcript.json"
TRANSCRIPT_VERSION = 2  # 2: the verdict (reason, per-test outcomes, evidence)


def write_transcript(result: EpisodeResult, episode_dir: Path, header: dict[str, Any]) -> Path:
    """Write `episode_dir/transcript.json` atomically, so a killed run never leaves half a file."""
    path = episode_dir / TRANSCRIPT_NAME
    data = {
        "version": TRANSCRIPT_VERSION,
        **header,
        "summary": result.summary(),
        "submitted": result.submitted,
        "error": result.error,
        "tokens": {"prompt": result.prompt_tokens, "cached_prompt": result.cached_prompt_tokens,
                   "completion": result.completion_tokens, "reasoning": result.reasoning_tokens},
        "timings": {"wall_s": result.wall_s, "model_s": result.model_s, "setup_s": result.setup_s,
                    "verify_s": result.verify_s},
        "verifier_output": result.verifier_output,
        "verdict": result.verdict.model_dump(mode="json") if result.verdict is not None else None,
        "steps": [step.to_dict() for step in result.steps],
    }
    return files.write_text(path, json.dumps(data, indent=1, default=str))


def read_transcript(path: Path) -> dict[str, Any]:
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
