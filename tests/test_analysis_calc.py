"""`perpass calc`: the published aider numbers, their inversion, overheads, and bad input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import PERPASS_CMD

from perpass.analysis.calc import calc
from perpass.errors import UserError

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "calc-aider-polyglot.yaml"


def test_example_reproduces_published_cost_per_solve_with_zero_overhead() -> None:
    result = calc(EXAMPLE)
    per_pass = {name: round(v["per_pass"], 3) for name, v in result["routes"].items()}
    assert per_pass == {
        "o3-mini": 0.134,
        "claude-3.7-sonnet": 0.130,
        "gpt-4o-mini": 0.040,
        "gpt-4.1-mini": 0.027,
    }
    # total cost per exercise is the published total over 225 exercises
    assert result["routes"]["o3-mini"]["per_episode"] * 225 == pytest.approx(18.16, abs=0.01)


def test_example_reports_the_inversion() -> None:
    result = calc(EXAMPLE)
    o3 = result["routes"]["o3-mini"]
    sonnet = result["routes"]["claude-3.7-sonnet"]
    assert o3["per_token"] < sonnet["per_token"] / 2  # ~2× cheaper per token at its own mix
    pairs = {(i["a"], i["b"], i["from_layer"], i["to_layer"]) for i in result["inversions"]}
    assert ("o3-mini", "claude-3.7-sonnet", "per_token", "per_pass") in pairs
    assert ("gpt-4o-mini", "gpt-4.1-mini", "per_token", "per_pass") in pairs


def test_reviewer_overhead_changes_the_gap() -> None:
    result = calc(EXAMPLE)
    reviewed = result["what_if"]["reviewer-5min"]["routes"]
    # (1 − p) / p × $5 on top of the zero-overhead cost per pass
    for name, base in result["routes"].items():
        p = base["pass_rate"]
        assert reviewed[name]["per_pass"] == pytest.approx(base["per_pass"] + (1 - p) / p * 5.0)
    assert reviewed["gpt-4o-mini"]["per_pass"] / reviewed["gpt-4.1-mini"]["per_pass"] > 10


def test_zero_pass_rate_is_infinite(tmp_path: Path) -> None:
    f = tmp_path / "calc.yaml"
    f.write_text(
        "routes:\n  r:\n    prices: {input: 1, output: 1}\n    prompt_tokens: 10\n"
        "    completion_tokens: 10\n    pass_rate: 0\n"
    )
    route = calc(f)["routes"]["r"]
    assert route["per_pass"] is None and route["per_pass_text"].startswith("∞")


@pytest.mark.parametrize(
    "body, where",
    [
        (
            "routes:\n  r:\n    prices: {input: -1, output: 1}\n    prompt_tokens: 1\n"
            "    completion_tokens: 1\n    pass_rate: 0.5\n",
            ":3:",
        ),
        ("routes:\n  r:\n    prompt_tokens: 1\n    completion_tokens: 1\n    pass_rate: 0.5\n", "prices"),
        (
            "routes:\n  r:\n    prices: {input: 1, output: 1}\n    prompt_tokens: 1\n"
            "    completion_tokens: 1\n    pass_rate: 1.5\n",
            ":6:",
        ),
        ("nothing: here\n", "routes"),
    ],
)
def test_bad_calc_file_is_a_user_error(tmp_path: Path, body: str, where: str) -> None:
    f = tmp_path / "calc.yaml"
    f.write_text(body)
    with pytest.raises(UserError, match=where):
        calc(f)


def test_cli_calc_json_interface_and_exit_2(tmp_path: Path) -> None:
    out = subprocess.run(
        [*PERPASS_CMD, "calc", str(EXAMPLE), "--json"], capture_output=True, text=True, check=True
    )
    data = json.loads(out.stdout)
    assert set(data["routes"]["o3-mini"]) >= {"per_token", "per_call", "per_episode", "per_pass"}
    assert all(set(i) >= {"a", "b", "from_layer", "to_layer"} for i in data["inversions"])
    bad_file = tmp_path / "bad.yaml"
    bad_file.write_text(
        "routes:\n  r:\n    prices: {input: -1, output: 1}\n    prompt_tokens: 1\n"
        "    completion_tokens: 1\n    pass_rate: 0.5\n"
    )
    bad = subprocess.run([*PERPASS_CMD, "calc", str(bad_file)], capture_output=True, text=True)
    assert bad.returncode == 2
    assert f"{bad_file}:3" in bad.stderr and "Traceback" not in bad.stderr
