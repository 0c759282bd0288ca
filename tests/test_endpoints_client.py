"""The Endpoint client against a real scripted HTTP server: replies, retries, faults, streaming."""

from __future__ import annotations

import time

import pytest

from perpass.endpoints import Endpoint, EndpointError
from perpass.errors import UserError
from perpass.testing import FaultPlan, ScriptedServer

MSG = [{"role": "user", "content": "hi"}]


def test_reply_usage_and_latency(scripted: ScriptedServer) -> None:
    reply = Endpoint(scripted.base_url, "m").chat(MSG, max_tokens=16)
    assert reply.content == "```bash\necho hello\n```"
    assert reply.usage.prompt_tokens and reply.usage.completion_tokens
    assert reply.usage.latency_s is not None and reply.usage.latency_s > 0
    assert reply.usage.cached_prompt_tokens is None  # the scripted server does not report it
    assert reply.finish_reason == "stop" and reply.usage.retries == 0


def test_reply_follows_turns(scripted: ScriptedServer) -> None:
    history = MSG + [{"role": "assistant", "content": "x"}, {"role": "user", "content": "next"}]
    assert "submit" in Endpoint(scripted.base_url, "m").chat(history).content


@pytest.mark.parametrize("fault", ["429", "500", "drop", "malformed"])
def test_transient_fault_is_retried(fault: str) -> None:
    script = [{"content": "ok", "fault": fault}]
    # A fault pinned in the script fires on every attempt: one server that faults always, ...
    with ScriptedServer(script) as server:
        ep = Endpoint(server.base_url, "m", max_retries=2, backoff_base_s=0.01)
        with pytest.raises(EndpointError) as err:
            ep.chat(MSG)
        assert err.value.attempts == 3
        assert server.stats.requests == 3
    # ... and one where faults are drawn at random: every call succeeds after retries.
    with ScriptedServer(["ok"], faults=FaultPlan(rate=0.5, kinds=(fault,), seed=3)) as server:
        ep = Endpoint(server.base_url, "m", max_retries=10, backoff_base_s=0.01)
        replies = [ep.chat(MSG) for _ in range(10)]
        assert all(r.content == "ok" for r in replies)
        assert sum(r.usage.retries for r in replies) == sum(server.stats.faults.values()) > 0


def test_retry_after_is_honoured() -> None:
    with ScriptedServer(["ok"], faults=FaultPlan(rate=1.0, kinds=("429",), retry_after_s=0.4)) as server:
        ep = Endpoint(server.base_url, "m", max_retries=1, backoff_base_s=0.0)
        started = time.perf_counter()
        with pytest.raises(EndpointError, match="429"):
            ep.chat(MSG)
        assert time.perf_counter() - started >= 0.4


def test_client_error_is_not_retried() -> None:
    with ScriptedServer(["ok"]) as server:
        ep = Endpoint(server.base_url.replace("/v1", "/nope"), "m", max_retries=3)
        with pytest.raises(EndpointError, match="HTTP 404") as err:
            ep.chat(MSG)
        assert err.value.attempts == 1  # one try, no retry (the server's counter cannot tell: see below)
        assert server.stats.requests == 0  # 404 is answered before a chat request is counted


def test_timeout_on_slow_reply() -> None:
    with ScriptedServer([{"content": "late", "delay_s": 1.0}]) as server:
        ep = Endpoint(server.base_url, "m", timeout_s=0.2, max_retries=0)
        with pytest.raises(EndpointError, match="Timeout"):
            ep.chat(MSG)


def test_refused_connection() -> None:
    ep = Endpoint("http://127.0.0.1:9/v1", "m", max_retries=1, backoff_base_s=0.01)
    with pytest.raises(EndpointError, match="Connection"):
        ep.chat(MSG)


def test_streaming_records_time_to_first_token() -> None:
    with ScriptedServer(["a streamed reply that spans several chunks"]) as server:
        reply = Endpoint(server.base_url, "m").chat(MSG, stream=True)
    assert reply.content == "a streamed reply that spans several chunks"
    assert reply.usage.ttft_s is not None and reply.usage.ttft_s <= reply.usage.latency_s
    assert reply.usage.completion_tokens and reply.finish_reason == "stop"


def test_tool_calls_are_returned_raw() -> None:
    script = [{"tool_calls": [{"name": "bash", "arguments": {"command": "ls"}}]}]
    with ScriptedServer(script) as server:
        reply = Endpoint(server.base_url, "m").chat(MSG, tools=[{"type": "function", "function": {
            "name": "bash", "parameters": {"type": "object", "properties": {}}}}])
    assert reply.tool_calls[0].name == "bash" and '"ls"' in reply.tool_calls[0].arguments
    assert reply.finish_reason == "tool_calls"
    assert reply.assistant_message()["tool_calls"][0]["function"]["name"] == "bash"


def test_api_key_from_named_env_var_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERPASS_TEST_KEY", "sk-secret-123")
    ep = Endpoint("http://127.0.0.1:9/v1", "m", api_key_env="PERPASS_TEST_KEY")
    assert "sk-secret" not in repr(ep) and "sk-secret" not in str(vars(ep))
    monkeypatch.delenv("PERPASS_TEST_KEY")
    with pytest.raises(UserError, match="PERPASS_TEST_KEY"):
        Endpoint("http://127.0.0.1:9/v1", "m", api_key_env="PERPASS_TEST_KEY")


def test_a_stream_cut_mid_reply_is_retried() -> None:
    """A server that sends the stream's headers and first chunk, then closes: the error surfaces while the
    client reads the stream (from the HTTP library under the SDK, not the SDK), and must be retried."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    chunk = ('data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"m","choices":'
             '[{"index":0,"delta":{"role":"assistant","content":"%s"},"finish_reason":%s}]}\n\n')

    served: list[int] = []

    def read_request(conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            body += conn.recv(65536)

    def serve() -> None:
        while True:  # the first reply is cut; every later one is whole
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                read_request(conn)
                served.append(1)
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                             b"transfer-encoding: chunked\r\n\r\n")
                body = (chunk % ("hel", "null")).encode()
                conn.sendall(b"%x\r\n%s\r\n" % (len(body), body))
                if len(served) == 1:
                    conn.sendall(b"5\r\nda")  # a chunk cut short, then the connection closes
                    continue
                body = (chunk % ("lo", '"stop"')).encode() + b"data: [DONE]\n\n"
                conn.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        ep = Endpoint(f"http://127.0.0.1:{port}/v1", "m", max_retries=2, backoff_base_s=0.01)
        reply = ep.chat(MSG, stream=True)
        assert reply.content == "hello"
        assert reply.usage.retries == 1 and len(served) == 2
    finally:
        listener.close()
