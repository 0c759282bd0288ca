"""`kind: anthropic` end to end: a routes file entry, a real episode through the agent loop (bwrap
sandbox, real task, verifier) against the scripted Anthropic server, prompt caching across turns, and
the harness option that turns it off without moving other routes' config hashes."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_helpers import SUBMIT, T0, bash, run

from perpass.endpoints.kinds import AnthropicRoute, make_route
from perpass.endpoints.routes import load_routes
from perpass.testing.anthropic_server import AnthropicServer


def test_a_routes_file_takes_an_anthropic_route(tmp_path: Path) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text("routes:\n  sonnet:\n    kind: anthropic\n    model: claude-sonnet-4-5\n"
                      "    api_key_env: ANTHROPIC_API_KEY\n    harness: {prompt_cache: off}\n")
    route = load_routes(routes)["sonnet"]
    assert isinstance(route, AnthropicRoute) and route.remote_url() == "https://api.anthropic.com/v1"
    assert route.harness.prompt_cache == "off"


def test_prompt_cache_auto_keeps_the_config_hash_and_off_changes_it() -> None:
    auto = make_route(name="x", kind="scripted", script=["a"])
    assert auto.config_hash() == "20515d73ac987d00"  # pinned before the option existed
    off = make_route(name="x", kind="scripted", script=["a"], harness={"prompt_cache": "off"})
    assert off.config_hash() != auto.config_hash()


def test_an_episode_runs_on_the_anthropic_kind_and_reads_its_cached_prefix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERPASS_TEST_ANTHROPIC_KEY", "sk-test")
    script = [bash("echo hello > hello.txt")["content"], SUBMIT["content"]]
    with AnthropicServer(script, api_key="sk-test", min_cache_tokens=50) as server:
        route = make_route(name="claude", kind="anthropic", model="claude-sonnet-4-5", base_url=server.base_url,
                           api_key_env="PERPASS_TEST_ANTHROPIC_KEY", max_retries=0)
        result, _ = run(route, tmp_path, T0)
        sent = server.stats.requests_seen
    assert result.stop_reason == "submitted" and result.passed
    usages = [s.usage for s in result.steps]
    assert [u.shape for u in usages] == ["anthropic", "anthropic"]
    assert (usages[0].cache_write_tokens or 0) > 0 and (usages[1].cached_prompt_tokens or 0) > 0
    assert (usages[1].raw_usage or {})["usage"]["cache_read_input_tokens"] == usages[1].cached_prompt_tokens
    assert "cache_control" in sent[0]["system"][-1]  # the stable prefix was marked
