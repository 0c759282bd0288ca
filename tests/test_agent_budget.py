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
