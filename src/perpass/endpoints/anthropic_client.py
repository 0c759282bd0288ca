"""A model behind Anthropic's Messages API, on the official `anthropic` SDK, with the same `chat()` as the
OpenAI-compatible `Endpoint`: the agent loop keeps its OpenAI-shaped history and this client translates.

Retries, deadlines and calls cut short are `perpass.endpoints.retrying`'s (the SDK's own retries are
off); the key comes from the environment variable the route names. With `prompt_cache`, the stable
prefix is marked with `cache_control` as production agents do: the system prompt, and the last two user
turns (the newest one is written to the cache, the one before is read from it).
"""

from __future__ import annotations

import json
import time
from typing import Any

import anthropic

from perpass.endpoints.client import ChatReply, ToolCall, read_api_key
from perpass.endpoints.retrying import (
    RETRYABLE_STATUS,
    TRANSPORT_ERRORS,
    Backoff,
    EndpointError,
    StreamProgress,
    call_with_retries,
    retry_after,
    short,
)
from perpass.endpoints.usage import normalise_usage

FINISH = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_calls", "max_tokens": "length"}
CACHE = {"type": "ephemeral"}
CACHED_USER_TURNS = 2


def to_anthropic(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """OpenAI chat messages as Anthropic's (system blocks, messages): tool calls become tool_use blocks,
    tool results tool_result blocks in a user turn, and consecutive turns of one role are merged."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for m in messages:
        role, content = m.get("role"), m.get("content") or ""
        if role == "system":
            system.append({"type": "text", "text": str(content)})
            continue
        if role == "tool":
            blocks = [{"type": "tool_result", "tool_use_id": m.get("tool_call_id"), "content": str(content)}]
            role = "user"
        else:
            blocks = [{"type": "text", "text": str(content)}] if content else []
            for call in m.get("tool_calls") or []:
                fn = call.get("function") or {}
                try:
                    args = json.loads(fn.get("arguments") or "{}")
                except json.JSONDecodeError:
                    args = {"raw": fn.get("arguments")}  # the model's malformed arguments, kept for the record
                blocks.append({"type": "tool_use", "id": call.get("id"), "name": fn.get("name"),
                               "input": args if isinstance(args, dict) else {"value": args}})
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks or [{"type": "text", "text": "(empty)"}]})
    return system, turns


def mark_cache(system: list[dict[str, Any]], turns: list[dict[str, Any]]) -> None:
    """cache_control on the stable prefix: the system prompt and the last two user turns."""
    if system:
        system[-1]["cache_control"] = CACHE
    users = [t for t in turns if t["role"] == "user"][-CACHED_USER_TURNS:]
    for turn in users:
        turn["content"][-1] = {**turn["content"][-1], "cache_control": CACHE}


def to_anthropic_tools(tools: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if not tools:
        return None
    out = []
    for tool in tools:
        fn = tool.get("function") or tool
        out.append({"name": fn["name"], "description": fn.get("description") or "",
                    "input_schema": fn.get("parameters") or {"type": "object", "properties": {}}})
    return out


def _retryable(err: Exception) -> tuple[float | None, str] | None:
    if isinstance(err, (anthropic.APIConnectionError, anthropic.APITimeoutError, json.JSONDecodeError,
                        *TRANSPORT_ERRORS)):
        return None, f"{type(err).__name__}: {err}"
    if isinstance(err, anthropic.APIStatusError):
        if err.status_code not in RETRYABLE_STATUS:
            raise EndpointError(f"HTTP {err.status_code}: {short(err.message)}", 1, err.status_code) from None
        return retry_after(err.response.headers), f"HTTP {err.status_code}"
    return None


def reply_from_message(body: dict[str, Any], latency: float) -> ChatReply:
    text = "".join(b.get("text") or "" for b in body.get("content") or [] if b.get("type") == "text")
    calls = [ToolCall(b.get("id") or f"toolu_{i}", b.get("name") or "", json.dumps(b.get("input") or {}))
             for i, b in enumerate(body.get("content") or []) if b.get("type") == "tool_use"]
    usage = normalise_usage(body, "anthropic")
    usage.latency_s = latency
    usage.finish_reason = FINISH.get(str(body.get("stop_reason")), body.get("stop_reason"))
    return ChatReply(text, calls, usage, body)


class AnthropicEndpoint:
    """Anthropic Messages behind the loop's `chat()`; the key is kept only inside the SDK client."""

    def __init__(self, base_url: str | None, model: str, *, api_key_env: str | None = None,
                 timeout_s: float = 120.0, max_retries: int = 4, backoff_base_s: float = 0.5,
                 backoff_max_s: float = 30.0, prompt_cache: bool = True) -> None:
        self.base_url = (base_url or "https://api.anthropic.com").rstrip("/")
        self.model = model
        self.prompt_cache = prompt_cache
        self.backoff = Backoff(max_retries, backoff_base_s, backoff_max_s)
        self._client = anthropic.Anthropic(base_url=self.base_url, api_key=read_api_key(api_key_env, self.base_url),
                                           timeout=timeout_s, max_retries=0)

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:  # never show the key
        return f"AnthropicEndpoint({self.base_url!r}, model={self.model!r})"

    def chat(self, messages: list[dict[str, Any]], *, max_tokens: int | None = None,
             temperature: float | None = None, top_p: float | None = None, seed: int | None = None,
             tools: list[dict[str, Any]] | None = None, stream: bool = False,
             extra_body: dict[str, Any] | None = None, timeout_s: float | None = None) -> ChatReply:
        """One Messages call, retried on 429/5xx/529/connection errors. The Messages API of the current
        SDK takes no `temperature`, `top_p` or `seed`: the route's sampling settings are not sent."""
        system, turns = to_anthropic(messages)
        if self.prompt_cache:
            mark_cache(system, turns)
        params: dict[str, Any] = {"model": self.model, "messages": turns, "max_tokens": max_tokens or 1024}
        for key, value in (("system", system or None), ("tools", to_anthropic_tools(tools)),
                           ("extra_body", extra_body)):
            if value is not None:
                params[key] = value

        def send(budget_s: float | None, progress: StreamProgress) -> ChatReply:
            attempt = params if budget_s is None else {**params, "timeout": budget_s}
            started = time.perf_counter()
            if stream:
                return self._stream(attempt, started, progress)
            raw = self._client.messages.with_raw_response.create(**attempt)
            return reply_from_message(raw.http_response.json(), time.perf_counter() - started)

        return call_with_retries(send, _retryable, self.backoff, timeout_s)

    def _stream(self, params: dict[str, Any], started: float, progress: StreamProgress) -> ChatReply:
        """Rebuild the message from the stream's events, keeping what arrived in `progress` so a call
        cut short still knows its input usage (message_start) and the tokens streamed so far."""
        progress.shape = "anthropic"
        message: dict[str, Any] = {}
        blocks: dict[int, dict[str, Any]] = {}
        partial_json: dict[int, str] = {}
        ttft: float | None = None
        for event in self._client.messages.create(**params, stream=True):
            progress.check_deadline()
            data = event.model_dump()
            kind = data.get("type")
            if kind == "message_start":
                message = data["message"]
                progress.last = message
            elif kind == "content_block_start":
                blocks[data["index"]] = dict(data["content_block"])
            elif kind == "content_block_delta":
                ttft = ttft if ttft is not None else time.perf_counter() - started
                progress.chunks += 1
                delta = data["delta"]
                block = blocks.setdefault(data["index"], {"type": "text", "text": ""})
                if delta.get("type") == "text_delta":
                    block["text"] = (block.get("text") or "") + delta.get("text", "")
                elif delta.get("type") == "input_json_delta":
                    partial_json[data["index"]] = partial_json.get(data["index"], "") + delta.get("partial_json", "")
            elif kind == "message_delta":
                message["stop_reason"] = (data.get("delta") or {}).get("stop_reason")
                message["usage"] = {**(message.get("usage") or {}),
                                    **{k: v for k, v in (data.get("usage") or {}).items() if v is not None}}
                progress.last = message
        for index, text in partial_json.items():
            blocks[index]["input"] = json.loads(text) if text else {}
        message["content"] = [blocks[i] for i in sorted(blocks)]
        reply = reply_from_message(message, time.perf_counter() - started)
        reply.usage.ttft_s = ttft
        reply.usage.stream_chunks = progress.chunks
        return reply
