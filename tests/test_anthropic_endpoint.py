"""The Anthropic Messages client behind the loop's chat(): translation of the loop's OpenAI-shaped history,
prompt caching of the stable prefix, streaming, calls cut short, retries and the key — against the
scripted Anthropic server over real HTTP."""

from __future__ import annotations

import pytest

from perpass.endpoints.anthropic_client import AnthropicEndpoint
from perpass.endpoints.client import CallCutShort, EndpointError
from perpass.errors import UserError
from perpass.testing.anthropic_server import AnthropicServer

SYSTEM = "You are a careful coding agent. Run one command at a time. " * 40
TOOLS = [{"type": "function", "function": {"name": "bash", "description": "run a command",
                                           "parameters": {"type": "object", "properties": {"command": {}}}}}]
HISTORY = [
    {"role": "system", "content": SYSTEM},
    {"role": "user", "content": "Fix the failing test."},
    {"role": "assistant", "content": "", "tool_calls": [
        {"id": "toolu_1", "type": "function", "function": {"name": "bash", "arguments": '{"command": "ls"}'}}]},
    {"role": "tool", "tool_call_id": "toolu_1", "content": "src tests"},
]


def endpoint(server: AnthropicServer, monkeypatch: pytest.MonkeyPatch, **kwargs: object) -> AnthropicEndpoint:
    monkeypatch.setenv("PERPASS_TEST_ANTHROPIC_KEY", "sk-test")
    return AnthropicEndpoint(server.base_url, "claude-sonnet-4-5", api_key_env="PERPASS_TEST_ANTHROPIC_KEY",
                             max_retries=2, backoff_base_s=0.01, **kwargs)  # type: ignore[arg-type]


def test_the_loops_history_is_sent_as_anthropic_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    script = ["first", {"tool_uses": [{"name": "bash", "input": {"command": "pytest -q"}}]}]
    with AnthropicServer(script, api_key="sk-test") as server:
        reply = endpoint(server, monkeypatch).chat(HISTORY, max_tokens=64, tools=TOOLS)
        sent = server.stats.requests_seen[-1]
    assert sent["system"][0]["text"] == SYSTEM
    assert [t["role"] for t in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["messages"][1]["content"][0] == {"type": "tool_use", "id": "toolu_1", "name": "bash",
                                                  "input": {"command": "ls"}}
    assert sent["messages"][2]["content"][0]["type"] == "tool_result"
    assert sent["tools"][0]["input_schema"]["type"] == "object"
    assert reply.finish_reason == "tool_calls" and reply.tool_calls[0].name == "bash"
    assert reply.tool_calls[0].arguments == '{"command": "pytest -q"}'
    assert reply.usage.shape == "anthropic" and reply.usage.prompt_tokens and reply.usage.latency_s


def test_prompt_cache_marks_the_stable_prefix_and_later_calls_read_it(monkeypatch: pytest.MonkeyPatch) -> None:
    conversation = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "task " * 50}]
    usages = []
    with AnthropicServer(["```bash\nls\n```"], min_cache_tokens=100) as server:
        client = endpoint(server, monkeypatch)
        for turn in range(3):
            reply = client.chat(conversation, max_tokens=32)
            usages.append(reply.usage)
            conversation += [reply.assistant_message(), {"role": "user", "content": f"output {turn} " * 30}]
        off = endpoint(server, monkeypatch, prompt_cache=False).chat(conversation, max_tokens=32).usage
    assert usages[0].cache_write_tokens and not usages[0].cached_prompt_tokens
    assert usages[1].cached_prompt_tokens and usages[2].cached_prompt_tokens
    assert usages[2].cached_prompt_tokens > usages[1].cached_prompt_tokens  # the prefix grows turn by turn
    assert off.cached_prompt_tokens == 0 and off.cache_write_tokens == 0  # prompt_cache off: nothing marked


def test_streaming_gives_the_same_reply(monkeypatch: pytest.MonkeyPatch) -> None:
    script = [{"content": "I will list files.", "tool_uses": [{"name": "bash", "input": {"command": "ls"}}]}]
    with AnthropicServer(script) as server:
        client = endpoint(server, monkeypatch)
        streamed = client.chat(HISTORY[:2], max_tokens=64, tools=TOOLS, stream=True)
        plain = client.chat(HISTORY[:2], max_tokens=64, tools=TOOLS)
    assert (streamed.content, streamed.finish_reason) == (plain.content, plain.finish_reason)
    assert [(c.name, c.arguments) for c in streamed.tool_calls] == [(c.name, c.arguments) for c in plain.tool_calls]
    assert streamed.usage.ttft_s is not None
    assert streamed.usage.completion_tokens == plain.usage.completion_tokens


def test_a_stream_cut_short_keeps_its_input_usage_and_the_tokens_so_far(monkeypatch: pytest.MonkeyPatch) -> None:
    with AnthropicServer([{"content": "x" * 400, "chunk_delay_s": 0.05}]) as server:
        with pytest.raises(CallCutShort) as caught:
            endpoint(server, monkeypatch).chat(HISTORY[:2], max_tokens=512, stream=True, timeout_s=0.8)
    usage = caught.value.usage
    assert usage.aborted and usage.prompt_tokens and usage.prompt_tokens > 100
    assert 1 < (usage.completion_tokens or 0) < 50 and (usage.latency_s or 0) >= 0.7


def test_overloaded_is_retried_a_bad_request_and_a_bad_key_are_not(monkeypatch: pytest.MonkeyPatch) -> None:
    with AnthropicServer([{"fault": "529"}], api_key="sk-test", retry_after_s=0.01) as server:
        with pytest.raises(EndpointError, match="529") as caught:
            endpoint(server, monkeypatch).chat(HISTORY[:2], max_tokens=8)
        assert caught.value.attempts == 3
        monkeypatch.setenv("WRONG_KEY", "sk-wrong")
        wrong = AnthropicEndpoint(server.base_url, "m", api_key_env="WRONG_KEY", max_retries=2)
        with pytest.raises(EndpointError, match="401") as caught:
            wrong.chat(HISTORY[:2], max_tokens=8)
        assert caught.value.attempts == 1 and "sk-wrong" not in repr(wrong)
    monkeypatch.delenv("UNSET_KEY", raising=False)
    with pytest.raises(UserError, match="UNSET_KEY"):
        AnthropicEndpoint(None, "m", api_key_env="UNSET_KEY")
