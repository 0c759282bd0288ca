"""One client for every OpenAI-compatible `/v1/chat/completions` endpoint.

Built on the official `openai` client. Retries are ours, not the SDK's, so that each retry is
counted in the usage record and `Retry-After` is honoured exactly.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai

from perpass.endpoints.usage import Usage, normalise_usage
from perpass.errors import UserError

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class EndpointError(Exception):
    """The endpoint failed after all retries (infra, never a model failure)."""

    def __init__(self, message: str, attempts: int, status: int | None = None) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.status = status  # the HTTP status of a refused request (not retried); None otherwise


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


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    if headers is None:
        return None
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


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
        api_key = "not-needed"
        if api_key_env:
            api_key = os.environ.get(api_key_env, "")
            if not api_key:
                raise UserError(
                    f"environment variable {api_key_env} is empty or unset; "
                    f"export it with the API key for {base_url}"
                )
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
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for key, value in (("max_tokens", max_tokens), ("temperature", temperature), ("top_p", top_p),
                           ("seed", seed), ("tools", tools)):
            if value is not None:
                params[key] = value
        if extra_body:
            params["extra_body"] = extra_body
        attempt = 0
        while True:
            if deadline is not None:
                params["timeout"] = max(0.1, deadline - time.monotonic())
            started = time.perf_counter()
            try:
                reply = self._stream(params, started) if stream else self._once(params, started)
                reply.usage.retries = attempt
                return reply
            except (openai.APIConnectionError, openai.APITimeoutError, json.JSONDecodeError,
                    httpx.TransportError, _MalformedReply) as err:
                delay, why = None, f"{type(err).__name__}: {err}"
            except openai.APIStatusError as err:
                if err.status_code not in RETRYABLE_STATUS:
                    message = f"HTTP {err.status_code}: {_short(err.message)}"
                    raise EndpointError(message, attempt + 1, err.status_code) from None
                delay, why = _retry_after(err.response.headers), f"HTTP {err.status_code}"
            attempt += 1
            if deadline is not None and time.monotonic() >= deadline:
                raise EndpointError(f"{why} (out of time after {attempt} attempts)", attempt)
            if attempt > self.max_retries:
                raise EndpointError(f"{why} (after {attempt} attempts)", attempt)
            if delay is None:
                delay = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
                delay *= 0.5 + random.random() / 2  # jitter, so parallel clients do not retry in step
            time.sleep(min(delay, self.backoff_max_s))

    def _once(self, params: dict[str, Any], started: float) -> ChatReply:
        raw = self._client.chat.completions.with_raw_response.create(**params)
        body = raw.http_response.json()
        latency = time.perf_counter() - started
        return _reply_from_body(body, latency)

    def _stream(self, params: dict[str, Any], started: float) -> ChatReply:
        params = {**params, "stream": True, "stream_options": {"include_usage": True}}
        content: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        ttft: float | None = None
        last: dict[str, Any] = {}
        finish: str | None = None
        chunks = 0
        for chunk in self._client.chat.completions.create(**params):
            data = chunk.model_dump()
            if data.get("usage") or data.get("timings"):
                last = data
            for choice in data.get("choices") or []:
                delta = choice.get("delta") or {}
                if delta.get("content") or delta.get("tool_calls"):
                    chunks += 1
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
        usage = normalise_usage(last)
        usage.latency_s = time.perf_counter() - started
        usage.ttft_s = ttft
        usage.finish_reason = finish
        usage.stream_chunks = chunks
        tool_calls = [ToolCall(c["id"] or f"call_{i}", c["name"], c["arguments"])
                      for i, c in sorted(calls.items())]
        return ChatReply("".join(content), tool_calls, usage, last)


class _MalformedReply(Exception):
    pass


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "…"


def _reply_from_body(body: Any, latency: float) -> ChatReply:
    if not isinstance(body, dict) or not isinstance(body.get("choices"), list) or not body["choices"]:
        raise _MalformedReply(f"response has no choices: {_short(json.dumps(body)[:300])}")
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
