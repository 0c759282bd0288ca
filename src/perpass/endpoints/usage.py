"""Normalised usage of one call, from whatever shape the server sends back, with the raw usage kept.

Servers disagree on where token counts live and on what includes what. Everything is read into one
record with ONE meaning, OpenAI's: `prompt_tokens` is every input token of the call (cache reads and
cache writes included), `completion_tokens` every output token (reasoning included). Each shape has
a reader in `SHAPES` (name → reader; the first whose `matches` holds reads the body). A field the
server did not send stays None: guessing 0 would make an unknown look free. The usage object as sent
(plus llama-server's `timings`) is kept in `raw_usage`, so a store can be re-read and re-priced later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Usage:
    prompt_tokens: int | None = None  # all input tokens, cache reads and writes included
    cached_prompt_tokens: int | None = None  # cache reads (⊂ prompt_tokens)
    completion_tokens: int | None = None  # all output tokens, reasoning included
    reasoning_tokens: int | None = None  # ⊂ completion_tokens
    cache_write_tokens: int | None = None  # prompt tokens written to the provider's cache (⊂ prompt_tokens)
    cache_write_1h_tokens: int | None = None  # of those, written with a 1-hour lifetime (Anthropic)
    provider_cost: float | None = None  # what the endpoint said the call cost ($), when it says
    shape: str | None = None  # which reader in SHAPES read it
    aborted: bool = False  # cut short by a wall/token/cost budget: counts are what was consumed so far
    latency_s: float | None = None  # wall time of the whole call, retries excluded
    ttft_s: float | None = None  # time to first token, streaming only
    finish_reason: str | None = None
    server_prompt_ms: float | None = None  # the server's own timings, when it sends them
    server_decode_ms: float | None = None
    server_prompt_n: int | None = None
    server_decode_n: int | None = None
    retries: int = 0
    stream_chunks: int | None = None  # content/tool-call chunks received when streaming
    # A server without timings (llama-cpp-python): its CPU seconds during the call over its threads,
    # measured by perpass; like timings, and unlike wall time, not inflated by waiting for a busy CPU.
    server_cpu_compute_s: float | None = None
    raw_usage: dict[str, Any] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def compute_s(self) -> float | None:
        return compute_seconds(self.to_dict())

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


def compute_seconds(usage: Mapping[str, Any]) -> float | None:
    """A call's model compute time (a Usage as a dict): the server's own prompt + decode timings, else
    its measured CPU time; None when neither is known. A busy machine does not inflate it as it does
    wall time."""
    prompt_ms, decode_ms = usage.get("server_prompt_ms"), usage.get("server_decode_ms")
    if prompt_ms is None and decode_ms is None:
        cpu = usage.get("server_cpu_compute_s")
        return None if cpu is None else float(cpu)
    return ((prompt_ms or 0.0) + (decode_ms or 0.0)) / 1000.0


def sum_known(values: Iterable[int | None]) -> int | None:
    """Sum of the reported counts; None when none was reported (an unknown is never a 0)."""
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _add(*values: int | None) -> int | None:
    return sum_known(values)


# -- one reader per shape ---------------------------------------------------------------------------


def read_anthropic(body: dict[str, Any]) -> Usage:
    """Anthropic Messages: `input_tokens` EXCLUDES cache reads and writes; output includes thinking."""
    usage = _dict(body.get("usage"))
    split = _dict(usage.get("cache_creation"))
    one_hour = _int(split.get("ephemeral_1h_input_tokens"))
    writes = _int(usage.get("cache_creation_input_tokens"))
    if writes is None and split:
        writes = _add(_int(split.get("ephemeral_5m_input_tokens")), one_hour)
    reads = _int(usage.get("cache_read_input_tokens"))
    return Usage(
        prompt_tokens=_add(_int(usage.get("input_tokens")), reads, writes),
        cached_prompt_tokens=reads,
        cache_write_tokens=writes,
        cache_write_1h_tokens=one_hour,
        completion_tokens=_int(usage.get("output_tokens")),
        finish_reason=body.get("stop_reason"),
    )


def read_openai_responses(body: dict[str, Any]) -> Usage:
    """OpenAI Responses: input_tokens includes cached_tokens; output_tokens includes reasoning_tokens."""
    usage = _dict(body.get("usage"))
    return Usage(
        prompt_tokens=_int(usage.get("input_tokens")),
        cached_prompt_tokens=_int(_dict(usage.get("input_tokens_details")).get("cached_tokens")),
        completion_tokens=_int(usage.get("output_tokens")),
        reasoning_tokens=_int(_dict(usage.get("output_tokens_details")).get("reasoning_tokens")),
        finish_reason=body.get("status"),
    )


def read_gemini(body: dict[str, Any]) -> Usage:
    """Gemini generateContent: promptTokenCount includes cachedContentTokenCount (and tool-use prompt
    tokens are added); thoughtsTokenCount is OUTSIDE candidatesTokenCount and billed as output."""
    meta = _dict(body.get("usageMetadata"))
    thoughts = _int(meta.get("thoughtsTokenCount"))
    candidates = body.get("candidates") or []
    finish = candidates[0].get("finishReason") if candidates and isinstance(candidates[0], dict) else None
    return Usage(
        prompt_tokens=_add(_int(meta.get("promptTokenCount")), _int(meta.get("toolUsePromptTokenCount"))),
        cached_prompt_tokens=_int(meta.get("cachedContentTokenCount")),
        completion_tokens=_add(_int(meta.get("candidatesTokenCount")), thoughts),
        reasoning_tokens=thoughts,
        finish_reason=finish,
    )


def read_openai_chat(body: dict[str, Any]) -> Usage:
    """OpenAI Chat Completions and the servers that copy it (vLLM, llama-server, Ollama's /v1, DeepSeek,
    OpenRouter, LiteLLM). prompt_tokens includes cached_tokens; completion_tokens normally includes
    reasoning_tokens, but some proxies (Gemini's OpenAI endpoint) report reasoning beside it: when
    total_tokens = prompt + completion + reasoning, or reasoning exceeds completion, it is added in."""
    usage = _dict(body.get("usage"))
    prompt_details = _dict(usage.get("prompt_tokens_details"))
    completion_details = _dict(usage.get("completion_tokens_details"))
    out = Usage(
        prompt_tokens=_int(usage.get("prompt_tokens")),
        cached_prompt_tokens=_int(prompt_details.get("cached_tokens")),
        completion_tokens=_int(usage.get("completion_tokens")),
        reasoning_tokens=_int(completion_details.get("reasoning_tokens")),
        cache_write_tokens=_int(prompt_details.get("cache_write_tokens")),  # OpenRouter
        provider_cost=_float(usage.get("cost")),  # OpenRouter: what it charged
    )
    # DeepSeek: hit + miss = prompt_tokens; the hits are the cache reads.
    hit = _int(usage.get("prompt_cache_hit_tokens"))
    if hit is not None and out.cached_prompt_tokens is None:
        out.cached_prompt_tokens = hit
        if out.prompt_tokens is None:
            out.prompt_tokens = _add(hit, _int(usage.get("prompt_cache_miss_tokens")))
    # Anthropic-style caching fields some proxies pass through (input already includes them there).
    if out.cached_prompt_tokens is None:
        out.cached_prompt_tokens = _int(usage.get("cache_read_input_tokens"))
    if out.cache_write_tokens is None:
        out.cache_write_tokens = _int(usage.get("cache_creation_input_tokens"))
    reasoning, completion, total = out.reasoning_tokens, out.completion_tokens, _int(usage.get("total_tokens"))
    if reasoning and completion is not None and out.prompt_tokens is not None and (
        reasoning > completion or total == out.prompt_tokens + completion + reasoning
    ):
        out.completion_tokens = completion + reasoning
    read_llama_timings(body, out)
    read_ollama_native(body, out)
    choices = body.get("choices") or []
    if choices and isinstance(choices[0], dict):
        out.finish_reason = choices[0].get("finish_reason")
    elif body.get("done_reason"):
        out.finish_reason = body.get("done_reason")
    return out


def read_llama_timings(body: dict[str, Any], out: Usage) -> None:
    """llama-server `timings`: prompt_n counts only the newly processed tokens, cache_n the reused ones."""
    timings = _dict(body.get("timings"))
    if not timings:
        return
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


def read_ollama_native(body: dict[str, Any], out: Usage) -> None:
    """Ollama's native fields (also seen through some proxies); durations in nanoseconds."""
    if out.prompt_tokens is None:
        out.prompt_tokens = _int(body.get("prompt_eval_count"))
    if out.completion_tokens is None:
        out.completion_tokens = _int(body.get("eval_count"))
    if out.server_decode_ms is None and _float(body.get("eval_duration")) is not None:
        out.server_decode_ms = float(body["eval_duration"]) / 1e6
        out.server_decode_n = _int(body.get("eval_count"))
    if out.server_prompt_ms is None and _float(body.get("prompt_eval_duration")) is not None:
        out.server_prompt_ms = float(body["prompt_eval_duration"]) / 1e6
        out.server_prompt_n = _int(body.get("prompt_eval_count"))


@dataclass(frozen=True)
class Shape:
    matches: Callable[[dict[str, Any]], bool]
    read: Callable[[dict[str, Any]], Usage]


def _usage_keys(body: dict[str, Any]) -> set[str]:
    return set(_dict(body.get("usage")))


# Order matters: the first shape whose `matches` holds reads the body; openai_chat takes the rest.
SHAPES: dict[str, Shape] = {
    "gemini": Shape(lambda b: "usageMetadata" in b, read_gemini),
    "anthropic": Shape(
        lambda b: b.get("type") == "message"
        or ("input_tokens" in _usage_keys(b) and not {"input_tokens_details", "total_tokens"} & _usage_keys(b)),
        read_anthropic,
    ),
    "openai_responses": Shape(lambda b: b.get("object") == "response" or "input_tokens" in _usage_keys(b),
                              read_openai_responses),
    "openai_chat": Shape(lambda b: True, read_openai_chat),
}


def raw_usage_of(body: dict[str, Any]) -> dict[str, Any] | None:
    """What the server sent about usage, kept verbatim for re-reading and re-pricing."""
    kept = {k: body[k] for k in ("usage", "usageMetadata", "timings") if isinstance(body.get(k), dict)}
    kept.update({k: body[k] for k in ("prompt_eval_count", "eval_count", "prompt_eval_duration", "eval_duration")
                 if k in body})
    return kept or None


def normalise_usage(body: dict[str, Any], shape: str | None = None) -> Usage:
    """Read token counts, cache reads/writes, reported cost and server timings out of a response body.
    `shape` forces a reader (an endpoint that knows what it speaks); by default it is detected."""
    name = shape or next(n for n, s in SHAPES.items() if s.matches(body))
    out = SHAPES[name].read(body)
    out.shape = name
    out.raw_usage = raw_usage_of(body)
    return out
