"""The metering gateway on its own, over its real Unix socket, in front of a real scripted HTTP server:
streaming, the agent's own bad requests (never infra), a failing upstream (infra), floods, the key."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from perpass.agent.budget import Spend
from perpass.agent.gateway import MeteringGateway
from perpass.agent.gateway.server import MAX_IN_FLIGHT, MAX_REQUEST_BYTES
from perpass.config import Harness
from perpass.endpoints.client import Endpoint
from perpass.endpoints.kinds import make_route
from perpass.testing import ScriptedServer

ROUTE = make_route(name="gw", kind="scripted", script=[], max_retries=0, harness=Harness(max_turns=50))
CHAT = "http://gateway/v1/chat/completions"


def ask(client: httpx.Client, content: str = "hi", **extra: Any) -> httpx.Response:
    return client.post(CHAT, json={"model": "whatever", "messages": [{"role": "user", "content": content}], **extra})


@pytest.fixture
def gateway(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[MeteringGateway, httpx.Client]]:
    script = getattr(request, "param", ["the reply"])
    with ScriptedServer(script) as server, \
            MeteringGateway(ROUTE, Endpoint(server.base_url, "m", max_retries=0),
                            Spend.for_harness(ROUTE.harness, time.monotonic() + 60), tmp_path / "gw") as gw, \
            httpx.Client(transport=httpx.HTTPTransport(uds=str(gw.socket_path)), timeout=30) as client:
        yield gw, client


def test_a_call_is_forwarded_metered_and_streamed_when_asked(gateway: tuple[MeteringGateway, httpx.Client]) -> None:
    gw, client = gateway
    whole = ask(client).json()
    assert whole["choices"][0]["message"]["content"] == "the reply" and whole["usage"]["completion_tokens"] > 0
    with client.stream("POST", CHAT, json={"model": "x", "stream": True,
                                           "messages": [{"role": "user", "content": "hi"}]}) as streamed:
        events = [json.loads(line[6:]) for line in streamed.iter_lines() if line.startswith("data: {")]
    assert "".join(e["choices"][0]["delta"].get("content", "") for e in events if e["choices"]) == "the reply"
    assert events[-1]["usage"] == whole["usage"]
    assert [c.status for c in gw.calls] == [200, 200] and gw.spend.calls == 2
    assert gw.spend.tokens == 2 * (whole["usage"]["prompt_tokens"] + whole["usage"]["completion_tokens"])
    assert len(gw.steps()) == 2 and gw.infra_error is None


def test_the_agents_bad_requests_are_answered_and_never_infra(gateway: tuple[MeteringGateway, httpx.Client]) -> None:
    gw, client = gateway
    assert client.post(CHAT, content=b"{not json").status_code == 400
    assert client.post(CHAT, json={"messages": "not a list"}).status_code == 400
    assert client.post(CHAT, content=b"x" * (MAX_REQUEST_BYTES + 1)).status_code == 413
    assert client.post("http://gateway/v1/embeddings", json={}).status_code == 404
    assert ask(client).status_code == 200  # the gateway is still up for the agent's next call
    assert gw.infra_error is None and gw.budget_stop is None and gw.spend.calls == 1


@pytest.mark.parametrize("gateway", [[{"content": "slow", "delay_s": 0.5}]], indirect=True)
def test_a_flood_of_parallel_calls_is_refused_beyond_the_limit(gateway: tuple[MeteringGateway, httpx.Client]) -> None:
    gw, client = gateway
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda: statuses.append(ask(client).status_code)) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(200) >= 1 and statuses.count(429) >= 10 - MAX_IN_FLIGHT - 1
    assert gw.infra_error is None


@pytest.mark.parametrize("gateway", [[{"content": "x", "fault": "500"}]], indirect=True)
def test_an_upstream_failure_is_infra(gateway: tuple[MeteringGateway, httpx.Client]) -> None:
    gw, client = gateway
    assert ask(client).status_code == 502
    assert gw.infra_error is not None and "HTTP 500" in gw.infra_error


def test_the_real_key_stays_with_the_gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GW_TEST_KEY", "sk-real-secret")
    seen: list[str] = []
    with ScriptedServer(["ok"]) as server:
        original = server.reply_for
        server.reply_for = lambda messages: (seen.append(json.dumps(messages)), original(messages))[1]  # type: ignore
        endpoint = Endpoint(server.base_url, "m", api_key_env="GW_TEST_KEY", max_retries=0)
        with MeteringGateway(ROUTE, endpoint, Spend.for_harness(ROUTE.harness, time.monotonic() + 60),
                             tmp_path / "gw") as gw, \
                httpx.Client(transport=httpx.HTTPTransport(uds=str(gw.socket_path))) as client:
            assert ask(client).status_code == 200
    steps = json.dumps([s.to_dict() for s in gw.steps()], default=str)
    steps += json.dumps([c.summary().model_dump() for c in gw.calls])
    assert "sk-real-secret" not in steps and seen


@pytest.mark.parametrize("gateway", [[{"content": "", "tool_calls": [
    {"name": "shell", "arguments": {"command": ["bash", "-lc", "ls"]}}]}, "All done."]], indirect=True)
def test_the_responses_wire_is_translated_to_chat_and_back(gateway: tuple[MeteringGateway, httpx.Client]) -> None:
    """The official OpenAI SDK's Responses client, whole and streamed, against the gateway over its socket."""
    gw, client = gateway
    sdk = openai.OpenAI(base_url="http://gateway/v1", api_key="dummy", http_client=client, max_retries=0)
    tools = [{"type": "function", "name": "shell", "description": "run", "parameters": {"type": "object"}},
             {"type": "custom", "name": "apply_patch", "description": "patch"}]
    first = sdk.responses.create(model="x", instructions="be brief", input="list the files", tools=tools)
    call = first.output[0]
    assert call.type == "function_call" and call.name == "shell" and json.loads(call.arguments)["command"][2] == "ls"
    assert first.usage is not None and first.usage.input_tokens > 0 and first.usage.output_tokens > 0
    follow_up = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list the files"}]},
                 {"type": "function_call", "call_id": call.call_id, "name": "shell", "arguments": call.arguments},
                 {"type": "function_call_output", "call_id": call.call_id, "output": "a.py\nb.py"}]
    with sdk.responses.stream(model="x", instructions="be brief", input=follow_up, tools=tools) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == "All done." == final.output_text
    sent = gw.calls[1].request
    assert sent is not None and [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "tool"]
    assert sent["messages"][3] == {"role": "tool", "tool_call_id": call.call_id, "content": "a.py\nb.py"}
    assert {t["function"]["name"] for t in sent["tools"]} == {"shell", "apply_patch"}
    assert gw.spend.calls == 2 and [s.reply for s in gw.steps()] == ["", "All done."]
