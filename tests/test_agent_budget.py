"""Budget arithmetic and protocol parsing, without a model or a sandbox (pure functions)."""

from __future__ import annotations

import pytest

from perpass.agent.budget import PromptEstimate, clean_output, estimate_tokens, truncate_middle
from perpass.agent.native_tools import check_path, parse_arguments
from perpass.agent.prompts import first_message
from perpass.endpoints.client import ToolCall
from perpass.endpoints.usage import Usage


def test_truncate_keeps_head_and_tail_within_the_limit() -> None:
    text = "HEAD" + "x" * 10_000 + "TAIL"
    cut = truncate_middle(text, 500)
    assert len(cut) <= 500 and cut.startswith("HEAD") and cut.endswith("TAIL")
    assert f"[... {len(text) - 500} characters cut ...]" in cut
    assert truncate_middle("short", 500) == "short"


def test_control_characters_are_made_visible() -> None:
    assert clean_output("a\x00b\x1bc\n\td") == "a?b?c\n\td"


def test_prompt_estimate_uses_the_servers_count_then_chars() -> None:
    history = [{"role": "system", "content": "s" * 400}, {"role": "user", "content": "u" * 400}]
    estimate = PromptEstimate()
    assert estimate.next_prompt(history) == estimate_tokens(history) == 200 + 16
    history.append({"role": "assistant", "content": "a" * 40})
    estimate.after_call(Usage(prompt_tokens=1000, completion_tokens=10), len(history))
    history.append({"role": "user", "content": "o" * 4000})
    assert estimate.next_prompt(history) == 1000 + 10 + 1000 + 8 + 8
    estimate.after_call(Usage(), len(history))  # a server that reports nothing: back to chars/4
    assert estimate.next_prompt(history) == estimate_tokens(history)


@pytest.mark.parametrize(("path", "expected"), [
    ("a/b.py", "a/b.py"), ("/workspace/a.py", "a.py"), ("./x", "x"),
])
def test_check_path_accepts_paths_inside(path: str, expected: str) -> None:
    assert check_path(path) == expected


@pytest.mark.parametrize("path", ["", "../x", "a/../../x", "/etc/passwd", "/workspace", "/workspace2/x", "a\x00b"])
def test_check_path_refuses_escapes(path: str) -> None:
    with pytest.raises(ValueError):
        check_path(path)


def test_parse_arguments() -> None:
    assert parse_arguments(ToolCall("1", "bash", '{"command": "ls"}')) == {"command": "ls"}
    assert parse_arguments(ToolCall("1", "submit", "")) == {}
    for name, args, problem in [("bash", "{", "not valid JSON"), ("nope", "{}", "unknown tool"),
                                ("bash", "[1]", "JSON object"), ("bash", '{"command": 3}', "needs string")]:
        with pytest.raises(ValueError, match=problem):
            parse_arguments(ToolCall("1", name, args))


def test_first_message_names_the_delivery_and_protocol() -> None:
    text = first_message("Fix it.", "text", "push")
    assert text.startswith("## Task\nFix it.") and "git push origin main" in text and "```bash" in text
    native = first_message("Fix it.", "native", "workspace")
    assert "edit_file" in native and "push" not in native


def test_the_cost_budget_bills_a_call_as_the_analysis_does() -> None:
    """max_cost_usd must bite on what the invoice will say: cache writes at their price, a whole call at
    the tier its prompt reaches, database prices for a route without its own, local compute time."""
    from perpass.agent.budget import call_cost_usd
    from perpass.endpoints.kinds import make_route
    from perpass.endpoints.usage import Usage

    prices = {"input": 3.0, "cached_input": 0.3, "cache_write": 3.75, "output": 15.0,
              "tiers": [{"above_prompt_tokens": 200_000, "input": 6.0, "output": 22.5}]}
    route = make_route(name="r", kind="openai", model="m", base_url="http://127.0.0.1:9/v1", prices=prices)
    # 10k prompt: 2k cache reads, 4k cache writes, 4k plain input; 1k output.
    small = Usage(prompt_tokens=10_000, cached_prompt_tokens=2_000, cache_write_tokens=4_000, completion_tokens=1_000)
    expected = (4_000 * 3.0 + 2_000 * 0.3 + 4_000 * 3.75 + 1_000 * 15.0) / 1e6
    assert abs(call_cost_usd(route, small) - expected) < 1e-12
    # Over 200k the whole call moves to the higher tier (cache prices unset in the tier: the tier's input).
    big = Usage(prompt_tokens=250_000, completion_tokens=1_000)
    assert abs(call_cost_usd(route, big) - (250_000 * 6.0 + 1_000 * 22.5) / 1e6) < 1e-12

    # No prices of its own, a provider the database knows: billed, not free.
    known = make_route(name="g", kind="openai", model="gpt-4o", base_url="https://api.openai.com/v1")
    assert call_cost_usd(known, Usage(prompt_tokens=1_000_000, completion_tokens=0)) > 0

    # A local route: the server's compute time, not a wall time a busy host inflates.
    local = make_route(name="l", kind="local", model="m", gguf="embedded", local_costs={"hardware_price": 3600.0,
                       "amortization_hours": 1.0, "watts": 0.0})  # $3600/h = $1 a second
    slow_wall = Usage(prompt_tokens=10, completion_tokens=10, latency_s=30.0, server_prompt_ms=500.0,
                      server_decode_ms=1500.0)
    assert abs(call_cost_usd(local, slow_wall) - 2.0) < 1e-9
