"""Malformed input across the CLI, tried as a new user would: each ends in ONE line naming what is
wrong (the file, and the line where there is one), exit code 2, and nothing written.

The fifty commands run `perpass.cli.main` in this process (argv, cwd and stdio swapped in): a
subprocess each would cost a fresh interpreter and import per case; the real-process path is
covered by the other CLI tests (tests/conftest.py `run_perpass`)."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
from conftest import run_perpass

from perpass.analysis.synthetic import StoreBuilder
from perpass.cli import main

FILES = {
    "bin.yaml": bytes(range(256)) * 2,
    "afile": b"just some notes\n",
    "empty.yaml": b"",
    "list.yaml": b"- a\n- b\n",
    "broken.yaml": b"models: [1,\n",
    "tab.yaml": b"models:\n\ta: 1\n",
    "ok.yaml": b"tasks: {ids: [t0-smoke-hello]}\nmodels: {a: {route: oracle}}\n",
    "one_repeat.yaml": b"repeats: 1\nmodels: {a: {route: oracle}}\n",
    "typo.yaml": b"modles: {a: {route: oracle}}\n",
    "no_route.yaml": b"tasks: {ids: [t0-smoke-hello]}\nmodels:\n  a: {route: nope}\n",
    "no_factor.yaml": b"tasks: {ids: [t0-smoke-hello]}\nmodels:\n  a:\n    route: oracle\n    factors: {tempo: [1]}\n",
    "two_at_once.yaml": b"tasks: {ids: [t0-smoke-hello]}\nmodels:\n  a:\n    route: oracle\n    cells:\n"
                        b"      - set: {temperature: 0.7, max_turns: 8}\n",
    "routes_dir.yaml": b"routes_file: dir\nmodels: {a: {route: oracle}}\n",
    "routes_bin.yaml": b"routes_file: bin.yaml\nmodels: {a: {route: oracle}}\n",
    "no_tasks.yaml": b"tasks: {folder: nowhere}\nmodels: {a: {route: oracle}}\n",
    "tier9.yaml": b"tasks: {tiers: [T9]}\nmodels: {a: {route: oracle}}\n",
    "hot.yaml": b"tasks: {ids: [t0-smoke-hello]}\nmodels:\n  a:\n    route: oracle\n    baseline: {temperature: hot}\n",
    "routes_list.yaml": b"routes: [1, 2]\n",
}

# (command, what the one line must say). {d} is the test's folder; `synth` is a store with episodes,
# `dbdir` a store folder whose perpass.db is a folder.
CASES: list[tuple[list[str], str]] = [
    (["plan", "bin.yaml"], "bin.yaml: not UTF-8 text"),
    (["plan", "dir"], "dir: is a folder"),
    (["plan", "missing.yaml"], "missing.yaml: file not found"),
    (["plan", "empty.yaml"], "empty.yaml:1: expected a mapping"),
    (["plan", "list.yaml"], "list.yaml:1: expected a mapping"),
    (["plan", "broken.yaml"], "broken.yaml:2: malformed YAML"),
    (["plan", "tab.yaml"], "tab.yaml:2: malformed YAML"),
    (["plan", "one_repeat.yaml"], "one_repeat.yaml:1: repeats: 1 is below 3"),
    (["plan", "typo.yaml"], "typo.yaml:1: modles: unknown key"),
    (["plan", "no_route.yaml"], "no_route.yaml:3: models.a.route: unknown route 'nope'"),
    (["plan", "no_factor.yaml"], "no_factor.yaml:5: models.a.factors.tempo: unknown factor"),
    (["plan", "two_at_once.yaml"], "two_at_once.yaml:6: models.a.cells.0: changes 2 factors"),
    (["plan", "routes_dir.yaml"], "dir: is a folder"),
    (["plan", "routes_bin.yaml"], "bin.yaml: not UTF-8 text"),
    (["plan", "no_tasks.yaml"], "no_tasks.yaml:1: tasks:"),
    (["plan", "tier9.yaml"], "unknown tier T9"),
    (["plan", "hot.yaml"], "hot.yaml:5: models.a.baseline.temperature: bad value 'hot'"),
    (["plan", "p[local].yaml"], "p[local].yaml: file not found"),  # brackets survive printing
    (["status", "--store", "dbdir"], "perpass.db: is a folder, not a run store"),
    (["report", "--store", "dbdir", "--out", "r.html"], "perpass.db: is a folder, not a run store"),
    (["decide", "--store", "dbdir"], "perpass.db: is a folder, not a run store"),
    (["run", "ok.yaml", "--store", "afile"], "afile: not a perpass run store (not a SQLite database)"),
    (["status", "--store", "afile"], "afile: not a perpass run store (not a SQLite database)"),
    (["status", "--store", "nowhere"], "nowhere/perpass.db: no run store here"),
    (["run", "ok.yaml", "--store", "afile/sub"], "afile: is a file, not a folder"),
    (["run", "ok.yaml", "--progress", "fancy"], "--progress fancy: use auto, rich, plain or quiet"),
    (["status", "--run", "99", "--store", "synth"], "no run with id 99"),
    (["report", "--store", "synth", "--out", "dir"], "dir: is a folder; give the path of the file"),
    (["report", "--store", "synth", "--out", "afile/r.html"], "afile: is a file, not a folder"),
    (["card", "--store", "synth", "--out", "afile"], "afile: is a file, not a folder"),
    (["decide", "--store", "synth", "--prices", "bin.yaml"], "bin.yaml: not UTF-8 text"),
    (["decide", "--store", "synth", "--prices", "dir"], "dir: is a folder"),
    (["decide", "--store", "synth", "--litellm", "dir"], "dir: is a folder; give the path of the file"),
    (["calc", "bin.yaml"], "bin.yaml: not UTF-8 text"),
    (["calc", "dir"], "dir: is a folder"),
    (["calc", "list.yaml"], "list.yaml: expected a mapping"),
    (["smoke", "x", "--routes", "dir"], "dir: is a folder"),
    (["smoke", "x", "--routes", "routes_list.yaml"], "routes_list.yaml: 'routes' must map route names"),
    (["smoke", "nope"], "unknown route 'nope'"),
    (["episode", "--route", "oracle", "--task", "dir"], "--task dir: is a folder; pass it as --tasks dir"),
    (["episode", "--route", "oracle", "--task", "my-task"], "unknown task id my-task; run `perpass tasks list`"),
    (["episode", "--route", "nope", "--task", "t0-smoke-hello"], "unknown route 'nope'"),
    (["init", "afile/plan.yaml"], "afile: is a file, not a folder"),
    (["init", "ok.yaml"], "ok.yaml: already exists; pass --force"),
    (["tasks", "list", "nowhere"], "nowhere: not a folder"),
    (["tasks", "list", "--tier", "T9"], "unknown tier T9"),
    (["export", "--store", "synth", "--format", "xml", "--out", "ex"], "--format xml: use one of parquet, csv, jsonl"),
    (["export", "--store", "synth", "--format", "csv", "--out", "afile"], "afile: is a file, not a folder"),
    (["export", "--store", "nowhere", "--format", "csv", "--out", "ex"], "nowhere/perpass.db: no run store here"),
    (["schema", "nope"], "unknown schema 'nope'; use one of routes, plan, status"),
    (["hw", "--profile", "nope"], "unknown hardware profile 'nope'"),
    (["shortlist", "--catalog", "bin.yaml"], "bin.yaml: not UTF-8 text"),
]


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` with a digest of its bytes (SQLite's own -wal/-shm side files aside)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(folder.rglob("*"))
        if not p.name.endswith(("-wal", "-shm"))
    }


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("bad-input")
    for name, data in FILES.items():
        (d / name).write_bytes(data)
    (d / "dir").mkdir()
    (d / "dbdir" / "perpass.db").mkdir(parents=True)
    with StoreBuilder(d / "synth" / "perpass.db") as b:
        cell = b.route("m/baseline", prices={"input": 1.0, "output": 2.0})
        for repeat in range(3):
            b.episode(cell, "t1-a", repeat=repeat, passed=repeat > 0, calls=[(100, 0, 10, 0, 0.5)])
    return d


@pytest.mark.parametrize(("command", "expected"), CASES, ids=[" ".join(c) for c, _ in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    workdir: Path, command: list[str], expected: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = snapshot(workdir)
    monkeypatch.chdir(workdir)
    monkeypatch.setattr(sys, "argv", ["perpass", *command])
    with pytest.raises(SystemExit) as exited:
        main()
    stderr = capsys.readouterr().err
    lines = stderr.strip().splitlines()
    assert exited.value.code == 2, (exited.value.code, stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr[-2000:]
    assert expected in lines[0], lines[0]
    assert snapshot(workdir) == before, "a failed command changed files"


def test_episode_help_names_a_task_that_exists() -> None:
    from perpass.tasks import builtin_tasks

    proc = run_perpass("episode", "--help", env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    ids = {t.id for t in builtin_tasks()}
    named = [word.strip("(),.") for word in proc.stdout.split() if word.startswith("t0-")]
    assert named and all(n in ids for n in named), (named, proc.stdout)
