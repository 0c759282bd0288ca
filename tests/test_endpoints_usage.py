"""Usage normalisation on response bodies written from the servers' documented field names."""

import json
from pathlib import Path

import pytest

from perpass.endpoints.usage import normalise_usage

FIXTURES = Path(__file__).parent / "fixtures" / "responses"


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_llama_server_usage_and_timings() -> None:
    u = normalise_usage(load("llama_server.json"))
    assert (u.prompt_tokens, u.cached_prompt_tokens, u.completion_tokens) == (1200, 1100, 48)
    assert u.reasoning_tokens is None
    assert u.server_prompt_n == 100 and u.server_decode_n == 48
    assert u.decode_tok_s == pytest.approx(60.0)
    assert u.prompt_tok_s == pytest.approx(100 / 0.0525)
    assert u.finish_reason == "stop"


def test_llama_server_without_usage_falls_back_to_timings() -> None:
    u = normalise_usage(load("llama_server_timings_only.json"))
    assert u.prompt_tokens == 40  # prompt_n + cache_n
    assert u.cached_prompt_tokens == 30
    assert u.completion_tokens == 20
    assert u.finish_reason == "length"


def test_ollama_openai_endpoint_has_no_cache_field() -> None:
    u = normalise_usage(load("ollama_openai.json"))
    assert (u.prompt_tokens, u.completion_tokens) == (310, 12)
    assert u.cached_prompt_tokens is None  # unknown, not zero
    assert u.server_decode_ms is None


def test_ollama_native_fields_in_nanoseconds() -> None:
    u = normalise_usage(load("ollama_native.json"))
    assert (u.prompt_tokens, u.completion_tokens) == (26, 290)
    assert u.server_decode_ms == pytest.approx(4709.213)
    assert u.decode_tok_s == pytest.approx(290 / 4.709213)
    assert u.finish_reason == "stop"


def test_vllm_null_details_stay_unknown() -> None:
    u = normalise_usage(load("vllm.json"))
    assert (u.prompt_tokens, u.completion_tokens) == (900, 50)
    assert u.cached_prompt_tokens is None and u.reasoning_tokens is None
    assert u.finish_reason == "tool_calls"


def test_openai_cloud_cached_and_reasoning() -> None:
    u = normalise_usage(load("openai_cloud.json"))
    assert (u.prompt_tokens, u.cached_prompt_tokens) == (2000, 1536)
    assert (u.completion_tokens, u.reasoning_tokens) == (700, 512)
    assert u.latency_s is None and u.ttft_s is None


def test_empty_body_is_all_unknown() -> None:
    u = normalise_usage({})
    assert all(v is None for k, v in u.to_dict().items() if k not in ("retries", "aborted", "shape"))
    assert u.aborted is False and u.shape == "openai_chat"
