"""A real Anthropic Messages (`POST /v1/messages`) HTTP server on loopback that replies from a script.

The twin of the scripted OpenAI-compatible server, for the `anthropic` route kind and for agents that
speak Anthropic's API. The reply to a request is chosen by the number of assistant messages already in
its history, so a retried request gets the same reply again. A script item is a string (the reply's
text) or a dict with any of: `content` (text), `tool_uses` (list of {name, input}), `stop_reason`,
`usage` (overrides the counted one), `delay_s`, `chunk_delay_s` (streaming: a pause before each
event, to cut a stream short), `fault` (`429` with retry-after, `500`, `529` overloaded, `drop`).

Usage is counted the way Anthropic bills it, prompt caching included: blocks marked with
`cache_control` are cache breakpoints (tools, then system, then messages, in that order); the longest
breakpoint prefix seen before is read from the cache (`cache_read_input_tokens`), the prefix up to the
last breakpoint is written when new (`cache_creation_input_tokens`, split into
`cache_creation.ephemeral_5m_input_tokens` / `ephemeral_1h_input_tokens` by the breakpoint's `ttl`),
and `input_tokens` counts only the rest. Prefixes shorter than `min_cache_tokens` are not cached (the
API's minimum is 1024 tokens for Sonnet-class models). With `api_key` set, requests without that key
(in `x-api-key`, or `Authorization: Bearer` as recent SDKs send it) get a 401 like the real API.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from perpass.endpoints.scripted_server import LoopbackServer, QuietHandler, count_tokens, pick_reply

API_ERRORS = {"429": (429, "rate_limit_error"), "500": (500, "api_error"), "529": (529, "overloaded_error")}


@dataclass
class CacheMark:
    """One cache breakpoint of a request: the key of the prefix up to it, its size and lifetime."""

    key: str
    tokens: int
    ttl: str  # "5m" | "1h"


@dataclass
class Counted:
    input_tokens: int
    cache_read: int
    cache_write: int
    cache_write_1h: int


@dataclass
class AnthropicStats:
    requests: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    requests_seen: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def _blocks(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Tools, system and message content as one ordered list of blocks: the order caching follows."""
    blocks: list[dict[str, Any]] = list(request.get("tools") or [])
    system = request.get("system")
    blocks += [{"type": "text", "text": system}] if isinstance(system, str) else list(system or [])
    for message in request.get("messages") or []:
        content = message.get("content")
        if isinstance(content, str):
            blocks.append({"type": "text", "text": content, "role": message.get("role")})
        else:
            blocks += [{**b, "role": message.get("role")} for b in content or []]
    return blocks


def _block_text(block: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in block.items() if k != "cache_control"}, sort_keys=True)


def _history(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Messages in the shape `select_replies` reads (role + text content)."""
    out = []
    for m in request.get("messages") or []:
        content = m.get("content")
        if not isinstance(content, str):
            content = " ".join(str(b.get("text") or b.get("content") or "") for b in content or [])
        out.append({"role": m.get("role"), "content": content})
    return out


class AnthropicServer(LoopbackServer):
    """Start with `with AnthropicServer(script) as server: server.base_url` (give it to the SDK)."""

    thread_name = "anthropic-server"

    def __init__(self, script: list[Any], *, api_key: str | None = None, min_cache_tokens: int = 1024,
                 model: str = "claude-scripted", retry_after_s: float = 0.05, port: int = 0) -> None:
        self.script = script
        self.api_key = api_key
        self.min_cache_tokens = min_cache_tokens
        self.model = model
        self.retry_after_s = retry_after_s
        self.stats = AnthropicStats()
        self._cache: dict[str, float] = {}  # prefix key -> expiry (monotonic seconds)
        super().__init__(self._handler(), port)

    @property
    def base_url(self) -> str:
        """What the `anthropic` SDK takes as base_url (it appends /v1/messages)."""
        return f"http://127.0.0.1:{self.port}"

    def reply_for(self, request: dict[str, Any]) -> dict[str, Any]:
        return pick_reply(self.script, _history(request))

    # -- usage, as Anthropic counts it ---------------------------------------------------------------

    def marks(self, blocks: list[dict[str, Any]]) -> list[CacheMark]:
        marks, digest, tokens = [], hashlib.sha256(), 0
        for block in blocks:
            text = _block_text(block)
            digest.update(text.encode())
            tokens += count_tokens(text)
            control = block.get("cache_control")
            if isinstance(control, dict) and control.get("type") == "ephemeral":
                marks.append(CacheMark(digest.hexdigest(), tokens, str(control.get("ttl") or "5m")))
        return marks

    def count(self, request: dict[str, Any]) -> Counted:
        blocks = _blocks(request)
        total = sum(count_tokens(_block_text(b)) for b in blocks)
        now = time.monotonic()
        with self.stats.lock:
            marks = [m for m in self.marks(blocks) if m.tokens >= self.min_cache_tokens]
            read = max((m.tokens for m in marks if self._cache.get(m.key, 0) > now), default=0)
            write = write_1h = 0
            if marks and marks[-1].tokens > read:
                write = marks[-1].tokens - read
                write_1h = write if marks[-1].ttl == "1h" else 0
            for m in marks:  # a hit refreshes the entry; a write creates it
                self._cache[m.key] = now + (3600 if m.ttl == "1h" else 300)
        return Counted(total - read - write, read, write, write_1h)

    def message(self, request: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if reply.get("content"):
            content.append({"type": "text", "text": str(reply["content"])})
        for i, use in enumerate(reply.get("tool_uses") or []):
            content.append({"type": "tool_use", "id": use.get("id") or f"toolu_{self.stats.requests}_{i}",
                            "name": use["name"], "input": use.get("input") or {}})
        counted = self.count(request)
        output = count_tokens("".join(json.dumps(b) if b["type"] == "tool_use" else b["text"] for b in content))
        stop = reply.get("stop_reason") or ("tool_use" if reply.get("tool_uses") else "end_turn")
        usage = {
            "input_tokens": counted.input_tokens,
            "cache_creation_input_tokens": counted.cache_write,
            "cache_read_input_tokens": counted.cache_read,
            "cache_creation": {"ephemeral_5m_input_tokens": counted.cache_write - counted.cache_write_1h,
                               "ephemeral_1h_input_tokens": counted.cache_write_1h},
            "output_tokens": output,
        }
        usage.update(reply.get("usage") or {})
        return {"id": f"msg_scripted_{self.stats.requests}", "type": "message", "role": "assistant",
                "model": request.get("model") or self.model, "content": content, "stop_reason": stop,
                "stop_sequence": None, "usage": usage}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(QuietHandler):
            def _json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                self._send(status, json.dumps(body).encode(), headers)

            def _error(self, status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> None:
                self._json(status, {"type": "error", "error": {"type": kind, "message": message}}, headers)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.split("?")[0].rstrip("/") != "/v1/messages":
                    self._error(404, "not_found_error", f"no route {self.path}")
                    return
                if server.api_key is not None and server.api_key not in (
                        self.headers.get("x-api-key"), self.headers.get("authorization", "").removeprefix("Bearer ")):
                    self._error(401, "authentication_error", "invalid x-api-key")
                    return
                try:
                    request = json.loads(raw)
                except json.JSONDecodeError:
                    self._error(400, "invalid_request_error", "request body is not JSON")
                    return
                if not isinstance(request.get("max_tokens"), int):
                    self._error(400, "invalid_request_error", "max_tokens: Field required")
                    return
                reply = server.reply_for(request)
                fault = reply.pop("fault", None)
                with server.stats.lock:
                    server.stats.requests += 1
                    server.stats.requests_seen.append(request)
                    if fault:
                        server.stats.faults[fault] = server.stats.faults.get(fault, 0) + 1
                if reply.get("delay_s"):
                    time.sleep(float(reply["delay_s"]))
                if fault in API_ERRORS:
                    status, kind = API_ERRORS[fault]
                    self._error(status, kind, f"injected {fault}", {"retry-after": str(server.retry_after_s)})
                    return
                if fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                message = server.message(request, reply)
                if request.get("stream"):
                    self._stream(message, float(reply.get("chunk_delay_s") or 0.0))
                else:
                    self._json(200, message)

            def _event(self, name: str, data: dict[str, Any], pause: float) -> None:
                if pause:
                    time.sleep(pause)
                self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
                self.wfile.flush()

            def _stream(self, message: dict[str, Any], pause: float) -> None:
                """The Messages streaming events: message_start (input usage), one content block at a
                time with its deltas, message_delta (stop reason, output usage), message_stop."""
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                usage = message["usage"]
                start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
                self._event("message_start", {"type": "message_start", "message": start}, pause)
                for index, block in enumerate(message["content"]):
                    if block["type"] == "text":
                        self._event("content_block_start", {"type": "content_block_start", "index": index,
                                                            "content_block": {"type": "text", "text": ""}}, pause)
                        text = block["text"]
                        for piece in [text[i:i + 8] for i in range(0, len(text), 8)]:
                            self._event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                                "delta": {"type": "text_delta", "text": piece}},
                                        pause)
                    else:
                        self._event("content_block_start", {"type": "content_block_start", "index": index,
                                                            "content_block": {**block, "input": {}}}, pause)
                        self._event("content_block_delta", {
                            "type": "content_block_delta", "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}}, pause)
                    self._event("content_block_stop", {"type": "content_block_stop", "index": index}, pause)
                self._event("message_delta", {"type": "message_delta",
                                              "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                                              "usage": {"output_tokens": usage["output_tokens"]}}, pause)
                self._event("message_stop", {"type": "message_stop"}, pause)
                self.close_connection = True

        return Handler
