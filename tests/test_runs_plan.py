"""Plan files: OFAT expansion and one-line errors with file:line for every kind of bad input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import PERPASS_CMD

from perpass.errors import UserError
from perpass.runs.plan import load_plan

GOOD = """\
tasks: {tiers: [T0, T1], limit: 1}
repeats: 3
models:
  orc:
    route: oracle
    baseline: {max_turns: 10}
    factors:
      temperature: [0.2, 0.7, 1.0]
      n_ctx: [2048]
"""


def write(tmp_path: Path, text: str, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_ofat_expansion_baseline_plus_one_cell_per_non_baseline_level(tmp_path: Path) -> None:
    plan = load_plan(write(tmp_path, GOOD))
    labels = [c.label for c in plan.cells]
    # temperature 0.2 is the route's default, i.e. the baseline level: no cell of its own.
    assert labels == ["orc/baseline", "orc/temperature=0.7", "orc/temperature=1.0", "orc/n_ctx=2048"]
    base = plan.cells[0].route
    for cell in plan.cells[1:]:
        assert list(cell.changes) == [cell.factor]
        assert cell.route.harness.max_turns == 10  # the baseline override reaches every cell
    assert plan.cells[3].route.serving.n_ctx == 2048 and base.serving.n_ctx == 4096
    assert len({c.config_hash for c in plan.cells}) == 4
    assert [t.tier for t in plan.tasks] == ["T0", "T1"]
    assert plan.planned_episodes == 4 * 2 * 3 and plan.trusted


def test_plan_hash_ignores_comments_but_follows_configs(tmp_path: Path) -> None:
    a = load_plan(write(tmp_path, GOOD, "a.yaml")).plan_hash()
    b = load_plan(write(tmp_path, "# a comment\n" + GOOD, "b.yaml")).plan_hash()
    c = load_plan(write(tmp_path, GOOD.replace("max_turns: 10", "max_turns: 11"), "c.yaml")).plan_hash()
    assert a == b != c


def test_explicit_interaction_cell_needs_allow_interactions(tmp_path: Path) -> None:
    cells = "    cells:\n      - set: {temperature: 0.9, max_turns: 12}\n"
    with pytest.raises(
        UserError,
        match=r"plan.yaml:11: models.orc.cells.0: changes 2 factors at once "
        r"\(temperature, max_turns\)",
    ):
        load_plan(write(tmp_path, GOOD + cells))
    plan = load_plan(write(tmp_path, GOOD + cells + "        allow_interactions: true\n"))
    assert plan.cells[-1].changes == {"temperature": 0.9, "max_turns": 12}
    assert plan.cells[-1].factor is None


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("repeats: 3", "repeats: 3\nrepats: 4"), r"plan.yaml:3: repats: unknown key"),
        (("repeats: 3", "repeats: three"), r"plan.yaml:2: repeats: Input should be a valid integer"),
        (("repeats: 3", "repeats: 0"), r"plan.yaml:2: repeats: .*greater than or equal to 1"),
        (("repeats: 3", "repeats: 1"), r"plan.yaml:2: repeats: 1 is below 3.*allow_single_run: true"),
        (("route: oracle", "route: nope"), r"plan.yaml:5: models.orc.route: unknown route 'nope'"),
        (("n_ctx: [2048]", "n_ctx: []"), r"plan.yaml:7: models.orc.factors: .*no levels"),
        (
            ("n_ctx: [2048]", "n_ctx: [2048, 2048]"),
            r"plan.yaml:9: models.orc.factors.n_ctx.1: duplicated cell",
        ),
        (("n_ctx: [2048]", "n_ktx: [2048]"), r"plan.yaml:9: models.orc.factors.n_ktx: unknown factor"),
        (("n_ctx: [2048]", "n_ctx: [12]"), r"plan.yaml:9: models.orc.factors.n_ctx: bad value 12"),
        (("limit: 1}", "limit: 1, ids: [t9-nope]}"), r"plan.yaml:1: tasks: unknown task id t9-nope"),
        (
            ("n_ctx: [2048]", "system_prompt: [chatty]"),
            r"plan.yaml:9: models.orc.factors.system_prompt: unknown prompt 'chatty'",
        ),
        (
            ("baseline: {max_turns: 10}", "baseline: {max_turns: x}"),
            r"plan.yaml:6: .*max_turns: bad value 'x'",
        ),
        (("repeats: 3", "repeats: 10\nallocation: adaptiv"), r"plan.yaml:3: allocation: Input should be 'fixed' or"),
        (
            ("repeats: 3", "repeats: 3\nallocation: adaptive"),
            r"plan.yaml:2: repeats: 3: under 'allocation: adaptive', repeats is the maximum N and must exceed",
        ),
        (
            ("repeats: 3", "repeats: 10\nadaptive: {error_rate: 0.1}"),
            r"plan.yaml:3: adaptive: settings for adaptive allocation, but allocation is fixed",
        ),
        (
            ("repeats: 3", "repeats: 10\nallocation: adaptive\nadaptive: {error_rate: 0}"),
            r"plan.yaml:4: adaptive.error_rate: .*greater than 0",
        ),
        (
            ("repeats: 3", "repeats: 10\nallocation: adaptive\nadaptive: {min_repeats: 2}"),
            r"plan.yaml:4: adaptive.min_repeats: .*greater than or equal to 3",
        ),
        (
            ("repeats: 3", "repeats: 10\nallocation: adaptive\nadaptive:\n  prices: gone.yaml"),
            r"plan.yaml:5: adaptive.prices: gone.yaml: no such file",
        ),
    ],
)
def test_bad_plans_give_one_line_with_file_and_line(
    tmp_path: Path, edit: tuple[str, str], expected: str
) -> None:
    text = GOOD.replace(*edit)
    assert text != GOOD
    with pytest.raises(UserError, match=expected) as info:
        load_plan(write(tmp_path, text))
    assert "\n" not in str(info.value)


def test_adaptive_allocation_is_off_by_default_and_takes_its_settings(tmp_path: Path) -> None:
    assert load_plan(write(tmp_path, GOOD)).adaptive is None
    plan = load_plan(write(tmp_path, GOOD.replace("repeats: 3", "repeats: 10\nallocation: adaptive")))
    assert plan.adaptive is not None
    assert (plan.adaptive.error_rate, plan.adaptive.min_repeats, plan.repeats) == (0.05, 3, 10)
    (tmp_path / "prices.yaml").write_text("min_pass_rate: 0.6\n")
    tuned = GOOD.replace("repeats: 3", "repeats: 8\nallocation: adaptive\nadaptive: {error_rate: 0.1, min_repeats: 4, "
                         "prices: prices.yaml}")
    plan = load_plan(write(tmp_path, tuned))
    assert plan.adaptive is not None
    assert (plan.adaptive.error_rate, plan.adaptive.min_repeats, plan.adaptive.prices) == (0.1, 4, "prices.yaml")


def test_single_run_allowed_explicitly_is_not_trusted(tmp_path: Path) -> None:
    plan = load_plan(write(tmp_path, GOOD.replace("repeats: 3", "repeats: 1\nallow_single_run: true")))
    assert not plan.trusted and plan.planned_episodes == 4 * 2


def test_cli_init_then_plan_show_json(tmp_path: Path) -> None:
    subprocess.run([*PERPASS_CMD, "init"], cwd=tmp_path, check=True, capture_output=True)
    assert "models:" in (tmp_path / "plan.yaml").read_text()
    again = subprocess.run([*PERPASS_CMD, "init"], cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 2 and "already exists" in again.stderr
    out = subprocess.run(
        [*PERPASS_CMD, "plan", "plan.yaml", "--show", "--json"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    data = json.loads(out)
    assert [c["factor"] for c in data["cells"]] == [None, "temperature", "n_ctx"]
    assert data["episodes"] == 3 * 3 * 3 and data["cells"][0]["eta_s"] is None


def test_cli_bad_plan_exits_2_with_one_line(tmp_path: Path) -> None:
    write(tmp_path, GOOD.replace("route: oracle", "route: nope"))
    proc = subprocess.run(
        [*PERPASS_CMD, "plan", "plan.yaml", "--show"], cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "plan.yaml:5" in proc.stderr
