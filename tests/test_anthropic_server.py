"""The scripted Anthropic Messages server, driven by the official `anthropic` SDK: replies, tool uses,
streaming events, prompt-cache accounting as Anthropic bills it, errors and the API key."""

from __future__ import annotations

import anthropic
import pytest

from perpass.endpoints.usage import normalise_usage
from perpass.testing.anthropic_server import AnthropicServer

LONG = "You are a careful coding agent. " * 60  # about 480 tokens: cacheable with min_cache_tokens=100


def client(server: AnthropicServer, key: str = "sk-test", **kwargs: object) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.base_url, api_key=key, **kwargs)  # type: ignore[arg-type]


def test_a_reply_and_its_usage_read_as_anthropic_means_it() -> None:
    with AnthropicServer(["hello there", {"tool_uses": [{"name": "bash", "input": {"command": "ls"}}]}],
                         api_key="sk-test") as server:
        c = client(server)
        first = c.messages.create(model="claude-sonnet-4-5", max_tokens=64,
                                  messages=[{"role": "user", "content": "hi"}])
        second = c.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=[
            {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello there"},
            {"role": "user", "content": "go on"}])
    assert first.content[0].text == "hello there" and first.stop_reason == "end_turn"  # type: ignore[union-attr]
    assert second.stop_reason == "tool_use" and second.content[0].input == {"command": "ls"}  # type: ignore[union-attr]
    usage = normalise_usage(first.model_dump())
    assert usage.shape == "anthropic" and usage.prompt_tokens == first.usage.input_tokens > 0
    assert usage.completion_tokens == first.usage.output_tokens > 0


def test_prompt_cache_writes_then_reads_the_marked_prefix() -> None:
    system = [{"type": "text", "text": LONG, "cache_control": {"type": "ephemeral"}}]
    with AnthropicServer(["a", "b"], min_cache_tokens=100) as server:
        c = client(server)
        first = c.messages.create(model="m", max_tokens=16, system=system,  # type: ignore[arg-type]
                                  messages=[{"role": "user", "content": "task"}])
        second = c.messages.create(model="m", max_tokens=16, system=system,  # type: ignore[arg-type]
                                   messages=[{"role": "user", "content": "task"},
                                             {"role": "assistant", "content": "a"},
                                             {"role": "user", "content": "more"}])
    written = first.usage.cache_creation_input_tokens
    assert written and written > 400 and first.usage.cache_read_input_tokens == 0
    assert second.usage.cache_read_input_tokens == written and second.usage.cache_creation_input_tokens == 0
    assert first.usage.cache_creation is not None and first.usage.cache_creation.ephemeral_5m_input_tokens == written
    u1, u2 = normalise_usage(first.model_dump()), normalise_usage(second.model_dump())
    assert u1.cache_write_tokens == written and u2.cached_prompt_tokens == written
    assert u2.prompt_tokens == second.usage.input_tokens + written  # input_tokens excludes the cache read


def test_one_hour_breakpoints_are_billed_as_one_hour_writes_and_short_prefixes_are_not_cached() -> None:
    with AnthropicServer(["a"], min_cache_tokens=100) as server:
        c = client(server)
        long = c.messages.create(model="m", max_tokens=16, system=[  # type: ignore[arg-type]
            {"type": "text", "text": LONG, "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
            messages=[{"role": "user", "content": "x"}])
        short = c.messages.create(model="m", max_tokens=16, system=[  # type: ignore[arg-type]
            {"type": "text", "text": "short", "cache_control": {"type": "ephemeral"}}],
            messages=[{"role": "user", "content": "x"}])
    assert long.usage.cache_creation is not None
    assert long.usage.cache_creation.ephemeral_1h_input_tokens == long.usage.cache_creation_input_tokens > 0
    assert normalise_usage(long.model_dump()).cache_write_1h_tokens == long.usage.cache_creation_input_tokens
    assert short.usage.cache_creation_input_tokens == 0 and short.usage.cache_read_input_tokens == 0


def test_streaming_events_rebuild_the_same_message() -> None:
    script = [{"content": "streamed reply text", "tool_uses": [{"name": "bash", "input": {"command": "pwd"}}]}]
    with AnthropicServer(script) as server:
        c = client(server)
        with c.messages.stream(model="m", max_tokens=64, messages=[{"role": "user", "content": "hi"}]) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        plain = c.messages.create(model="m", max_tokens=64, messages=[{"role": "user", "content": "hi"}])
    assert text == "streamed reply text" and final.stop_reason == "tool_use"
    assert final.content[1].input == {"command": "pwd"}  # type: ignore[union-attr]
    assert final.usage.output_tokens == plain.usage.output_tokens and final.usage.input_tokens > 0


def test_errors_and_the_api_key() -> None:
    with AnthropicServer([{"fault": "429"}], api_key="sk-right", retry_after_s=0.01) as server:
        with pytest.raises(anthropic.AuthenticationError):
            client(server, key="sk-wrong").messages.create(model="m", max_tokens=8,
                                                           messages=[{"role": "user", "content": "x"}])
        with pytest.raises(anthropic.RateLimitError):
            client(server, key="sk-right", max_retries=2).messages.create(
                model="m", max_tokens=8, messages=[{"role": "user", "content": "x"}])
        assert server.stats.faults == {"429": 3}  # the SDK retried twice, honouring retry-after
