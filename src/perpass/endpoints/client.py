"""One client for every OpenAI-compatible `/v1/chat/completions` endpoint.

Built on the official `openai` client. Retries are ours, not the SDK's, so that each retry is
counted in the usage record and `Retry-After` is honoured exactly.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import openai

from perpass.endpoints.retrying import (
    RETRYABLE_STATUS,
    TRANSPORT_ERRORS,
    Backoff,
    CallCutShort,
    EndpointError,
    StreamProgress,
    call_with_retries,
    retry_after,
    short,
)
from perpass.endpoints.usage import Usage, normalise_usage
from perpass.errors import UserError

__all__ = ["CallCutShort", "ChatEndpoint", "ChatReply", "Endpoint", "EndpointError", "ToolCall", "read_api_key"]


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str  # raw JSON text as the model wrote it; parsing it is the agent's job


@dataclass
class ChatReply:
    content: str
    tool_calls: list[ToolCall]
    usage: Usage
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def finish_reason(self) -> str | None:
        return self.usage.finish_reason

    def assistant_message(self) -> dict[str, Any]:
        """The reply as a message to append to the history."""
        msg: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            msg["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in self.tool_calls
            ]
        return msg


class ChatEndpoint(Protocol):
    """What the agent loop and the smoke checks call: `Endpoint` (OpenAI-compatible) or
    `AnthropicEndpoint` (Anthropic Messages)."""

    base_url: str
    model: str

    def chat(self, messages: list[dict[str, Any]], *, max_tokens: int | None = None,
             temperature: float | None = None, top_p: float | None = None, seed: int | None = None,
             tools: list[dict[str, Any]] | None = None, stream: bool = False,
             extra_body: dict[str, Any] | None = None, timeout_s: float | None = None) -> ChatReply: ...

    def close(self) -> None: ...


def read_api_key(api_key_env: str | None, base_url: str) -> str:
    """The key from the environment variable the route names (never from a file, never logged)."""
    if not api_key_env:
        return "not-needed"
    api_key = os.environ.get(api_key_env, "")
    if not api_key:
        raise UserError(f"environment variable {api_key_env} is empty or unset; export it with the API key for "
                        f"{base_url}")
    return api_key


class Endpoint:
    """A model behind an OpenAI-compatible API.

    The API key is read from the environment variable named by `api_key_env` at construction
    and kept only in the client object: never stored, printed or logged.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = None,
        timeout_s: float = 120.0,
        max_retries: int = 4,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
    ) -> None:
        api_key = read_api_key(api_key_env, base_url)
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self._client = openai.OpenAI(base_url=self.base_url, api_key=api_key, timeout=timeout_s,
                                     max_retries=0)

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:  # never show the key
        return f"Endpoint({self.base_url!r}, model={self.model!r})"

    def chat(
        self,
        messages: list[dict[str, Any]],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        tools: list[dict[str, Any]] | None = None,
        stream: bool = False,
        extra_body: dict[str, Any] | None = None,
        timeout_s: float | None = None,
    ) -> ChatReply:
        """Send one chat completion, retrying 429/5xx/connection errors with backoff.

        `timeout_s` bounds this call (each attempt) below the client's own timeout, e.g. to the
        time an episode has left.
        """
        params: dict[str, Any] = {"model": self.model, "messages": messages}
        for key, value in (("max_tokens", max_tokens), ("temperature", temperature), ("top_p", top_p),
                           ("seed", seed), ("tools", tools)):
            if value is not None:
                params[key] = value
        if extra_body:
            params["extra_body"] = extra_body
        backoff = Backoff(self.max_retries, self.backoff_base_s, self.backoff_max_s)

        def send(budget_s: float | None, progress: StreamProgress) -> ChatReply:
            attempt_params = params if budget_s is None else {**params, "timeout": budget_s}
            started = time.perf_counter()
            return self._stream(attempt_params, started, progress) if stream else self._once(attempt_params, started)

        return call_with_retries(send, _retryable, backoff, timeout_s)

    def _once(self, params: dict[str, Any], started: float) -> ChatReply:
        raw = self._client.chat.completions.with_raw_response.create(**params)
        body = raw.http_response.json()
        latency = time.perf_counter() - started
        reply = _reply_from_body(body, latency)
        reply.usage.provider_cost = reply.usage.provider_cost or _header_cost(raw.http_response.headers)
        return reply

    def _stream(self, params: dict[str, Any], started: float, progress: StreamProgress) -> ChatReply:
        params = {**params, "stream": True, "stream_options": {"include_usage": True}}
        content: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        ttft: float | None = None
        finish: str | None = None
        for chunk in self._client.chat.completions.create(**params):
            progress.check_deadline()
            data = chunk.model_dump()
            if data.get("usage") or data.get("timings"):
                progress.last = data
            for choice in data.get("choices") or []:
                delta = choice.get("delta") or {}
                if delta.get("content") or delta.get("tool_calls"):
                    progress.chunks += 1
                if delta.get("content"):
                    ttft = ttft if ttft is not None else time.perf_counter() - started
                    content.append(delta["content"])
                for tc in delta.get("tool_calls") or []:
                    ttft = ttft if ttft is not None else time.perf_counter() - started
                    slot = calls.setdefault(tc.get("index", 0), {"id": "", "name": "", "arguments": ""})
                    fn = tc.get("function") or {}
                    slot["id"] = tc.get("id") or slot["id"]
                    slot["name"] += fn.get("name") or ""
                    slot["arguments"] += fn.get("arguments") or ""
                finish = choice.get("finish_reason") or finish
        usage = normalise_usage(progress.last)
        usage.latency_s = time.perf_counter() - started
        usage.ttft_s = ttft
        usage.finish_reason = finish
        usage.stream_chunks = progress.chunks
        tool_calls = [ToolCall(c["id"] or f"call_{i}", c["name"], c["arguments"])
                      for i, c in sorted(calls.items())]
        return ChatReply("".join(content), tool_calls, usage, progress.last)


class _MalformedReply(Exception):
    pass


def _retryable(err: Exception) -> tuple[float | None, str] | None:
    """(Retry-After, what went wrong) for an error worth retrying; EndpointError for one that is not;
    None for an error this client does not know (it propagates)."""
    if isinstance(err, (openai.APIConnectionError, openai.APITimeoutError, json.JSONDecodeError, _MalformedReply,
                        *TRANSPORT_ERRORS)):
        return None, f"{type(err).__name__}: {err}"
    if isinstance(err, openai.APIStatusError):
        if err.status_code not in RETRYABLE_STATUS:
            raise EndpointError(f"HTTP {err.status_code}: {short(err.message)}", 1, err.status_code) from None
        return retry_after(err.response.headers), f"HTTP {err.status_code}"
    return None


LITELLM_COST_HEADER = "x-litellm-response-cost"


def _header_cost(headers: Mapping[str, str]) -> float | None:
    """The $ cost a LiteLLM proxy reports for the call in a response header."""
    try:
        return float(headers[LITELLM_COST_HEADER])
    except (KeyError, ValueError):
        return None


def _reply_from_body(body: Any, latency: float) -> ChatReply:
    if not isinstance(body, dict) or not isinstance(body.get("choices"), list) or not body["choices"]:
        raise _MalformedReply(f"response has no choices: {short(json.dumps(body)[:300])}")
    message = body["choices"][0].get("message") or {}
    usage = normalise_usage(body)
    usage.latency_s = latency
    tool_calls = []
    for i, tc in enumerate(message.get("tool_calls") or []):
        fn = tc.get("function") or {}
        args = fn.get("arguments")
        tool_calls.append(ToolCall(tc.get("id") or f"call_{i}", fn.get("name") or "",
                                   args if isinstance(args, str) else json.dumps(args)))
    return ChatReply(message.get("content") or "", tool_calls, usage, body)
