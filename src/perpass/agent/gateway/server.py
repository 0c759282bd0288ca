"""The metering gateway of one episode: an OpenAI Chat Completions (and Responses) server on a Unix socket.

The socket's folder is bound read-only into the episode's sandbox, where a forwarder (inside/forward.py)
turns it into http://127.0.0.1:GATEWAY_PORT/v1 on the sandbox's own loopback. Every call is checked
against the episode's budgets, forwarded to the route's real endpoint (perpass's Endpoint: its key, its
retries, its usage normalisation), recorded, and answered as JSON or as a server-sent-event stream.

Whose fault a failure is decides how the episode counts it:
- the agent's (a body that is not JSON, too big, a flood of parallel calls, a request the upstream
  refuses as invalid): the agent gets an error it can act on; the episode goes on;
- the world's (the upstream unreachable or failing after its retries, a refused key): infra;
- a budget used up: refused with 403 (agents built on LiteLLM or the OpenAI SDK stop retrying on it)
  and the episode ends with the budget's stop reason.
"""

from __future__ import annotations

import json
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from perpass.agent.budget import Spend, call_cost_usd
from perpass.agent.gateway.wires import WIRES, Wire
from perpass.agent.transcript import GatewayCallInfo
from perpass.agent.types import Step, StopReason
from perpass.config import RouteBase
from perpass.endpoints.client import ChatEndpoint, ChatReply, EndpointError

GATEWAY_PORT = 4000  # inside the sandbox, on its own loopback
SOCKET_NAME = "gateway.sock"
MAX_REQUEST_BYTES = 8 * 1024 * 1024
MAX_IN_FLIGHT = 4  # parallel calls of one agent; more is a flood, refused with 429
# Upstream refusals that are about the setup (key, model name), not about what the agent sent: infra.
SETUP_STATUSES = frozenset({401, 403, 404, 407})


@dataclass
class GatewayCall:
    """One request the agent made, and what became of it."""

    index: int
    request: dict[str, Any] | None  # the agent's body (None when it was not JSON)
    status: int  # HTTP status the agent got
    reply: ChatReply | None = None
    error: str | None = None  # why it was refused or failed
    cost_usd: float = 0.0
    latency_s: float = 0.0
    stream: bool = False
    forwarded: bool = False  # sent to the endpoint (refusals by the gateway are not)

    def summary(self) -> GatewayCallInfo:
        """For the transcript's gateway log: every call, including those no step shows (refusals)."""
        return GatewayCallInfo(index=self.index, status=self.status, error=self.error, forwarded=self.forwarded,
                               stream=self.stream, latency_s=round(self.latency_s, 4), cost_usd=self.cost_usd)


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    events: Iterator[bytes] | None = None  # the reply as a server-sent-event stream, when the agent asked
    headers: dict[str, str] = field(default_factory=dict)


def error_answer(status: int, message: str, kind: str, code: str | None = None,
                 headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, {"error": {"message": message, "type": kind, "code": code}}, headers=headers or {})


class UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 64  # a burst of connections waits here; more than MAX_IN_FLIGHT at once get a 429


class MeteringGateway:
    """`with MeteringGateway(route, endpoint, spend, folder) as gateway:` serves on folder/gateway.sock."""

    def __init__(self, route: RouteBase, endpoint: ChatEndpoint, spend: Spend, folder: Path,
                 on_budget_stop: Callable[[], None] | None = None) -> None:
        self.route, self.endpoint, self.spend = route, endpoint, spend
        self.on_budget_stop = on_budget_stop  # ends the agent: many retry a refused call for minutes
        self.folder = folder
        self.socket_path = folder / SOCKET_NAME
        self.calls: list[GatewayCall] = []
        self.budget_stop: tuple[StopReason, str] | None = None  # the first budget that refused a call
        self.infra_error: str | None = None  # the first failure of the world (upstream, key)
        self.lock = threading.Lock()
        self.in_flight = threading.BoundedSemaphore(MAX_IN_FLIGHT)
        self._server: UnixHTTPServer | None = None

    # --- life -------------------------------------------------------------------------------------

    def start(self) -> MeteringGateway:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o755)  # the sandbox user must reach the socket through the bind
        self._server = UnixHTTPServer(str(self.socket_path), self._handler())
        self.socket_path.chmod(0o666)
        threading.Thread(target=self._server.serve_forever, name="metering-gateway", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.socket_path.unlink(missing_ok=True)

    def __enter__(self) -> MeteringGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- one call -----------------------------------------------------------------------------------

    def answer(self, path: str, raw: bytes) -> Answer:
        wire = WIRES.get(path.split("?")[0].rstrip("/"))
        if wire is None:
            return error_answer(404, f"perpass gateway: no such endpoint {path}; use /v1/chat/completions "
                                     "or /v1/responses", "not_found")
        if not self.in_flight.acquire(blocking=False):
            call = self._record(None, 429, f"more than {MAX_IN_FLIGHT} calls at once")
            return error_answer(429, f"perpass gateway: {call.error}", "rate_limit", headers={"Retry-After": "1"})
        try:
            return self._answer(wire(), raw)
        finally:
            self.in_flight.release()

    def _answer(self, wire: Wire, raw: bytes) -> Answer:
        try:
            asked = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            asked = None
        body = wire.to_chat(asked) if isinstance(asked, dict) else None
        if body is None:
            self._record(None, 400, f"the request body is not a {wire.name} request")
            return error_answer(400, f"perpass gateway: the body must be a JSON {wire.name} request "
                                     "(chat: a list of messages; responses: input)", "invalid_request_error")
        with self.lock:
            refused = self.spend.exhausted()
            if refused is None:
                self.spend.calls += 1  # reserved now, so parallel calls cannot overshoot the budget
            first_refusal = refused is not None and self.budget_stop is None
            if first_refusal:
                self.budget_stop = refused
        if refused is not None:
            self._record(body, 403, refused[1])
            if first_refusal and self.on_budget_stop is not None:
                threading.Thread(target=self.on_budget_stop, name="end-agent", daemon=True).start()
            return error_answer(403, f"perpass: budget exhausted: {refused[1]}; stop now", "budget_exceeded",
                                refused[0].value)
        started = time.perf_counter()
        try:
            reply = self._forward(body)
        except EndpointError as err:
            return self._upstream_failed(body, err, time.perf_counter() - started)
        except Exception as err:  # anything a broken upstream provokes in the client: the world's failure
            return self._upstream_failed(body, EndpointError(f"{type(err).__name__}: {err}", 1),
                                         time.perf_counter() - started)
        cost = call_cost_usd(self.route, reply.usage)
        with self.lock:
            self.spend.add(reply.usage, cost, count_call=False)
        stream = bool(body.get("stream"))
        self._record(body, 200, None, reply, cost, time.perf_counter() - started, stream, forwarded=True)
        answer = wire.reply_body(reply, asked)
        return Answer(200, answer, events=wire.events(answer) if stream else None)

    def _forward(self, body: dict[str, Any]) -> ChatReply:
        """The agent's request to the route's endpoint: its model name, the route's sampling and
        max_output_tokens where the agent sets none, everything else as the agent sent it. Always whole
        (not streamed) upstream, so usage and retries are exact; the agent still gets a stream when it
        asked for one."""
        params = {k: v for k, v in body.items() if k not in ("model", "messages", "stream", "stream_options")}
        sampling = self.route.sampling
        asked = params.pop("max_completion_tokens", None), params.pop("max_tokens", None)
        max_tokens = asked[0] or asked[1] or self.route.harness.max_output_tokens
        return self.endpoint.chat(
            body["messages"], max_tokens=max_tokens,
            temperature=params.pop("temperature", sampling.temperature), top_p=params.pop("top_p", sampling.top_p),
            seed=params.pop("seed", sampling.seed), tools=params.pop("tools", None),
            extra_body=params or None, timeout_s=max(1.0, self.spend.deadline - time.monotonic()))

    def _upstream_failed(self, body: dict[str, Any], err: EndpointError, took: float) -> Answer:
        if time.monotonic() >= self.spend.deadline:  # the call was cut by the episode's own wall budget
            with self.lock:
                self.budget_stop = self.budget_stop or (StopReason.WALL_LIMIT, "the episode's wall time is used up")
            self._record(body, 403, f"cut at the episode's wall limit: {err}", latency_s=took, forwarded=True)
            if self.on_budget_stop is not None:
                threading.Thread(target=self.on_budget_stop, name="end-agent", daemon=True).start()
            return error_answer(403, "perpass: budget exhausted: the episode's wall time is used up; stop now",
                                "budget_exceeded", StopReason.WALL_LIMIT.value)
        agents_fault = err.status is not None and 400 <= err.status < 500 and err.status not in SETUP_STATUSES
        if agents_fault:  # the upstream refused what the agent sent (bad parameters, too long a prompt)
            self._record(body, err.status or 400, f"the endpoint refused the request: {err}", latency_s=took,
                         forwarded=True)
            return error_answer(err.status or 400, str(err), "invalid_request_error")
        with self.lock:
            self.infra_error = self.infra_error or f"endpoint failed: {err}"
        self._record(body, 502, f"the endpoint failed: {err}", latency_s=took, forwarded=True)
        return error_answer(502, f"perpass gateway: the model endpoint failed: {err}", "upstream_error")

    def _record(self, body: dict[str, Any] | None, status: int, error: str | None, reply: ChatReply | None = None,
                cost_usd: float = 0.0, latency_s: float = 0.0, stream: bool = False,
                forwarded: bool = False) -> GatewayCall:
        with self.lock:
            call = GatewayCall(len(self.calls), body, status, reply, error, cost_usd, latency_s, stream, forwarded)
            self.calls.append(call)
        return call

    # --- HTTP ---------------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # the calls are the log
                pass

            def address_string(self) -> str:  # a Unix socket has no client address
                return "sandbox"

            def do_GET(self) -> None:
                if self.path.rstrip("/") in ("/v1/models", "/models"):
                    self._send(Answer(200, {"object": "list", "data": [{"id": gateway.route.model,
                                                                        "object": "model"}]}))
                else:
                    self._send(error_answer(404, "not found", "not_found"))

            def do_POST(self) -> None:
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if length < 0 or length > MAX_REQUEST_BYTES:
                    gateway._record(None, 413, f"request of {length} bytes (limit {MAX_REQUEST_BYTES})")
                    self.close_connection = True
                    self._send(error_answer(413, f"perpass gateway: requests are limited to {MAX_REQUEST_BYTES} "
                                                 "bytes", "invalid_request_error"))
                    return
                self._send(gateway.answer(self.path, self.rfile.read(length)))

            def _send(self, answer: Answer) -> None:
                if answer.events is not None:
                    self._send_events(answer.events)
                    return
                data = json.dumps(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _send_events(self, events: Iterator[bytes]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                for event in events:
                    self.wfile.write(event)
                self.wfile.flush()
                self.close_connection = True

        return Handler

    # --- the transcript -----------------------------------------------------------------------------

    def steps(self) -> list[Step]:
        """The answered calls as the episode's steps (refusals are in the calls, not here). messages_in
        holds what is new since the previous call when the agent's history only grew (as perpass's own
        loop records it), else the whole request."""
        steps: list[Step] = []
        history: list[dict[str, Any]] = []
        for call in self.calls:
            if call.reply is None:
                continue
            reply = call.reply
            messages = list((call.request or {}).get("messages") or [])
            new = messages[len(history):] if messages[:len(history)] == history else messages
            assistant = reply.assistant_message()
            steps.append(Step(
                index=len(steps), messages_in=new, reply=reply.content,
                tool_calls=[{"id": c.id, "name": c.name, "arguments": c.arguments} for c in reply.tool_calls],
                usage=reply.usage, assistant=assistant))
            history = messages + [assistant]
        return steps
