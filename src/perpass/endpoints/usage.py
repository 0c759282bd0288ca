"""Normalised usage of one call, from whatever an OpenAI-compatible server sends back.

Servers disagree on where token counts live (OpenAI `usage`, llama-server `timings`, Ollama's
native `eval_count`...). Everything is read into one record. A field the server did not send
stays None: guessing 0 would make an unknown look free.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Usage:
    prompt_tokens: int | None = None
    cached_prompt_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None
    latency_s: float | None = None  # wall time of the whole call, retries excluded
    ttft_s: float | None = None  # time to first token, streaming only
    finish_reason: str | None = None
    server_prompt_ms: float | None = None  # the server's own timings, when it sends them
    server_decode_ms: float | None = None
    server_prompt_n: int | None = None
    server_decode_n: int | None = None
    retries: int = 0
    stream_chunks: int | None = None  # content/tool-call chunks received when streaming

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def decode_tok_s(self) -> float | None:
        """Decode speed: the server's own timing when sent, else completion tokens / latency."""
        if self.server_decode_ms and self.server_decode_n:
            return self.server_decode_n / (self.server_decode_ms / 1000)
        if self.completion_tokens and self.latency_s:
            return self.completion_tokens / self.latency_s
        return None

    @property
    def prompt_tok_s(self) -> float | None:
        if self.server_prompt_ms and self.server_prompt_n:
            return self.server_prompt_n / (self.server_prompt_ms / 1000)
        return None


def sum_known(values: Iterable[int | None]) -> int | None:
    """Sum of the reported counts; None when none was reported (an unknown is never a 0)."""
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def normalise_usage(body: dict[str, Any]) -> Usage:
    """Read token counts and server timings out of a chat-completion response body."""
    usage = body.get("usage") or {}
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    timings = body.get("timings") or {}

    out = Usage(
        prompt_tokens=_int(usage.get("prompt_tokens")),
        cached_prompt_tokens=_int(prompt_details.get("cached_tokens")),
        completion_tokens=_int(usage.get("completion_tokens")),
        reasoning_tokens=_int(completion_details.get("reasoning_tokens")),
    )
    # Anthropic-style caching fields some proxies pass through.
    if out.cached_prompt_tokens is None and _int(usage.get("cache_read_input_tokens")) is not None:
        out.cached_prompt_tokens = _int(usage.get("cache_read_input_tokens"))

    # llama-server: prompt_n counts only the newly processed tokens; cache_n the reused ones.
    if timings:
        out.server_prompt_ms = _float(timings.get("prompt_ms"))
        out.server_decode_ms = _float(timings.get("predicted_ms"))
        out.server_prompt_n = _int(timings.get("prompt_n"))
        out.server_decode_n = _int(timings.get("predicted_n"))
        cache_n = _int(timings.get("cache_n"))
        if out.cached_prompt_tokens is None and cache_n is not None:
            out.cached_prompt_tokens = cache_n
        if out.prompt_tokens is None and out.server_prompt_n is not None:
            out.prompt_tokens = out.server_prompt_n + (cache_n or 0)
        if out.completion_tokens is None:
            out.completion_tokens = out.server_decode_n

    # Ollama's native fields (also seen through some proxies); durations in nanoseconds.
    if out.prompt_tokens is None and _int(body.get("prompt_eval_count")) is not None:
        out.prompt_tokens = _int(body.get("prompt_eval_count"))
    if out.completion_tokens is None and _int(body.get("eval_count")) is not None:
        out.completion_tokens = _int(body.get("eval_count"))
    if out.server_decode_ms is None and _float(body.get("eval_duration")) is not None:
        out.server_decode_ms = float(body["eval_duration"]) / 1e6
        out.server_decode_n = _int(body.get("eval_count"))
    if out.server_prompt_ms is None and _float(body.get("prompt_eval_duration")) is not None:
        out.server_prompt_ms = float(body["prompt_eval_duration"]) / 1e6
        out.server_prompt_n = _int(body.get("prompt_eval_count"))

    choices = body.get("choices") or []
    if choices and isinstance(choices[0], dict):
        out.finish_reason = choices[0].get("finish_reason")
    elif body.get("done_reason"):
        out.finish_reason = body.get("done_reason")
    return out
