"""A whole chat completion as an OpenAI server-sent-event stream.

Used by the scripted server (tests) and the metering gateway, which asks the upstream for the whole
reply (so usage and retries are exact) and streams it to an agent that asked for `stream: true`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

CONTENT_PIECE_CHARS = 8  # a few characters per chunk, as a real server sends them


def _event(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()


def completion_events(body: dict[str, Any]) -> Iterator[bytes]:
    """The chunks of `body` (a chat.completion): content pieces, tool calls, the finish reason, usage, [DONE]."""
    choice = body["choices"][0]
    message = choice.get("message") or {}
    content = message.get("content") or ""
    base = {"id": body.get("id", "chatcmpl"), "object": "chat.completion.chunk", "created": body.get("created", 0),
            "model": body.get("model", "")}
    first = {"role": "assistant"}
    pieces = [content[i:i + CONTENT_PIECE_CHARS] for i in range(0, len(content), CONTENT_PIECE_CHARS)] or [""]
    for piece in pieces:
        yield _event({**base, "choices": [{"index": 0, "delta": {**first, "content": piece}, "finish_reason": None}]})
        first = {}
    for i, call in enumerate(message.get("tool_calls") or []):
        yield _event({**base, "choices": [{"index": 0, "delta": {"tool_calls": [{**call, "index": i}]},
                                           "finish_reason": None}]})
    yield _event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": choice.get("finish_reason")}]})
    if body.get("usage") is not None:
        yield _event({**base, "choices": [], "usage": body["usage"]})
    yield b"data: [DONE]\n\n"
