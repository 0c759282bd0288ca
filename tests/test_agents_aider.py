"""aider from PyPI, installed by perpass, run inside the sandbox on a built-in T1 task through the
metering gateway (streaming, as aider asks by default): a scripted SEARCH/REPLACE edit passes; a budget
of one call cuts it off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent_helpers import T1, run, transcript

from perpass.config import Harness, RouteBase
from perpass.endpoints.kinds import make_route

# aider's prompt carries 4 example exchanges, so its first call has 4 assistant messages and the scripted
# server answers it with reply 4; the commit-message call has none and gets reply 0.
EDIT = """calendar_utils.py
```python
<<<<<<< SEARCH
    return year % 4 == 0 and year % 100 != 0
=======
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
>>>>>>> REPLACE
```
"""
SCRIPT = ["Fix the 400-year leap year rule"] * 4 + [EDIT, "Done."]


def aider_route(script: list[Any], **harness: Any) -> RouteBase:
    return make_route(name="aider-scripted", kind="scripted", model="scripted", script=script, max_retries=0,
                 harness=Harness(agent="aider", agent_args=["--edit-format", "diff", "--map-tokens", "0"], **harness))


def test_aider_edits_commits_and_passes(tmp_path: Path) -> None:
    result, _ = run(aider_route(SCRIPT), tmp_path, T1)
    log = (tmp_path / "episode" / "agent.log").read_text()
    assert (result.stop_reason, result.passed) == ("submitted", True), log[-3000:]
    data = transcript(result)
    assert data["external"]["agent"] == "aider" and result.calls == 2  # the edit, then the commit message
    assert any(c["stream"] for c in data["external"]["gateway_calls"])  # aider streams; the gateway streamed back
    assert result.prompt_tokens and result.completion_tokens


def test_aider_is_cut_off_by_its_call_budget(tmp_path: Path) -> None:
    result, _ = run(aider_route(SCRIPT, max_turns=1), tmp_path, T1)
    assert (result.stop_reason, result.calls) == ("turn_limit", 1)
    assert [c["status"] for c in transcript(result)["external"]["gateway_calls"]][:2] == [200, 403]
