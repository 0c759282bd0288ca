"""A real OpenAI-compatible HTTP server on loopback that replies from a script.

For deterministic tests, replays, and fault injection. The reply to a request is chosen by the
number of assistant messages already in that request's history, so every conversation sees the
same script whatever the concurrency, and a retried request gets the same reply again.

A script is a list of items. Each item is either a reply, or a block
`{"when": "text", "replies": [...]}` used for conversations whose first user message contains
"text" (the first matching block wins; plain replies are the fallback). A reply is a string (the
assistant's content) or a dict with any of: `content`, `tool_calls` (list of {name, arguments}),
`finish_reason`, `usage` (overrides the counted one), `delay_s`, `chunk_delay_s` (a streamed reply
trickles: this long between chunks, like a model decoding), `fault`.

Faults: `429` (with Retry-After), `500`, `drop` (close the connection without a reply),
`malformed` (HTTP 200 with a body that is not JSON), `slow` (sleep `slow_s` first).
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from perpass.endpoints.sse import completion_events

FAULT_KINDS = ("429", "500", "drop", "malformed", "slow")


@dataclass
class FaultPlan:
    """Inject faults at `rate` of calls (seeded, so a run is reproducible)."""

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    retry_after_s: float = 0.05
    slow_s: float = 0.3


@dataclass
class ServerStats:
    requests: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def count_tokens(text: str) -> int:
    """A stable stand-in tokenizer: about four characters a token."""
    return max(1, (len(text) + 3) // 4) if text else 0


def _message_text(messages: list[dict[str, Any]]) -> str:
    parts = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        parts.append(str(content or ""))
        for tc in m.get("tool_calls") or []:
            parts.append(json.dumps(tc))
    return "\n".join(parts)


def select_replies(script: list[Any], messages: list[dict[str, Any]]) -> list[Any]:
    first_user = next((str(m.get("content") or "") for m in messages if m.get("role") == "user"), "")
    plain = [item for item in script if not (isinstance(item, dict) and "when" in item)]
    for item in script:
        if isinstance(item, dict) and "when" in item and str(item["when"]) in first_user:
            return list(item.get("replies") or [])
    return plain


def pick_reply(script: list[Any], messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The script's reply for this history: chosen by how many assistant turns it already has, so a
    retried request gets the same reply again."""
    replies = select_replies(script, messages)
    if not replies:
        return {"content": ""}
    turn = sum(1 for m in messages if m.get("role") == "assistant")
    reply = replies[min(turn, len(replies) - 1)]
    return {"content": reply} if isinstance(reply, str) else dict(reply)


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1, no request log, no Nagle delay, and one way to send a whole reply."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body are written separately; without this, Nagle plus the client's
        # delayed ACK add ~40 ms to every reply.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 (a free port unless given), started and stopped with `with`."""

    thread_name = "loopback-server"

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ScriptedServer(LoopbackServer):
    """Start with `with ScriptedServer(script) as server: server.base_url`."""

    thread_name = "scripted-server"

    def __init__(
        self,
        script: list[Any],
        *,
        faults: FaultPlan | None = None,
        latency_s: float = 0.0,
        model: str = "scripted",
        port: int = 0,
    ) -> None:
        self.script = script
        self.faults = faults or FaultPlan()
        self.latency_s = latency_s
        self.model = model
        self.stats = ServerStats()
        self._rng = random.Random(self.faults.seed)
        super().__init__(self._handler(), port)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _pick_fault(self, pinned: str | None) -> str | None:
        with self.stats.lock:
            self.stats.requests += 1
            if pinned:
                self.stats.faults[pinned] = self.stats.faults.get(pinned, 0) + 1
                return pinned
            if self.faults.rate > 0 and self._rng.random() < self.faults.rate:
                kind = self._rng.choice(self.faults.kinds)
                self.stats.faults[kind] = self.stats.faults.get(kind, 0) + 1
                return kind
        return None

    def reply_for(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return pick_reply(self.script, messages)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(QuietHandler):

            def do_GET(self) -> None:
                if self.path.rstrip("/") in ("/health", "/v1/models"):
                    self._send(200, json.dumps({"status": "ok", "data": [{"id": server.model}]}).encode())
                else:
                    self._send(404, b'{"error": "not found"}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                    self._send(404, b'{"error": "not found"}')
                    return
                try:
                    request = json.loads(raw)
                except json.JSONDecodeError:
                    self._send(400, b'{"error": {"message": "request body is not JSON"}}')
                    return
                messages = request.get("messages") or []
                reply = server.reply_for(messages)
                fault = server._pick_fault(reply.pop("fault", None))
                if server.latency_s:
                    time.sleep(server.latency_s)
                if reply.get("delay_s"):
                    time.sleep(float(reply["delay_s"]))
                if fault == "slow":
                    time.sleep(server.faults.slow_s)
                elif fault == "429":
                    self._send(429, b'{"error": {"message": "rate limited"}}',
                               {"Retry-After": str(server.faults.retry_after_s)})
                    return
                elif fault == "500":
                    self._send(500, b'{"error": {"message": "injected server error"}}')
                    return
                elif fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                elif fault == "malformed":
                    self._send(200, b'{"id": "x", "choices": [ {"message": ')
                    return
                body = server._completion(request, messages, reply)
                if request.get("stream"):
                    self._stream(body, float(reply.get("chunk_delay_s") or 0.0))
                else:
                    self._send(200, json.dumps(body).encode())

            def _stream(self, body: dict[str, Any], chunk_delay_s: float) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                try:
                    for event in completion_events(body):
                        self.wfile.write(event)
                        self.wfile.flush()
                        time.sleep(chunk_delay_s)
                except (BrokenPipeError, ConnectionResetError):  # the client cut the stream (its deadline)
                    return

        return Handler

    def _completion(self, request: dict[str, Any], messages: list[dict[str, Any]],
                    reply: dict[str, Any]) -> dict[str, Any]:
        content = str(reply.get("content") or "")
        tool_calls = []
        for i, tc in enumerate(reply.get("tool_calls") or []):
            args = tc.get("arguments", {})
            tool_calls.append({"id": tc.get("id") or f"call_{i}", "type": "function",
                               "function": {"name": tc["name"],
                                            "arguments": args if isinstance(args, str) else json.dumps(args)}})
        prompt_tokens = count_tokens(_message_text(messages))
        completion_tokens = count_tokens(content + "".join(json.dumps(t) for t in tool_calls))
        finish = reply.get("finish_reason") or ("tool_calls" if tool_calls else "stop")
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if tool_calls:
            message["tool_calls"] = tool_calls
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens}
        usage.update(reply.get("usage") or {})
        return {
            "id": f"chatcmpl-{self.stats.requests}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model") or self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": usage,
        }


@contextmanager
def scripted_endpoint(script: list[Any], **kwargs: Any) -> Iterator[ScriptedServer]:
    with ScriptedServer(script, **kwargs) as server:
        yield server
