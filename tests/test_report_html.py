"""The HTML report without a browser: data it embeds, packed transcripts, empty stores, the CLI."""

from __future__ import annotations

import base64
import gzip
import json
import re
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from conftest import run_perpass

from perpass.analysis.analyze import analyze
from perpass.analysis.decide import decision as make_decision
from perpass.analysis.synthetic import StoreBuilder
from perpass.report import html_report
from perpass.report.html_episodes import pack
from perpass.report.html_report import script_json, write_report
from perpass.runs.store import Store


def embedded(html: str, element_id: str) -> object:
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S)
    assert match, element_id
    return json.loads(match.group(1))


def test_script_json_cannot_close_the_script_tag() -> None:
    text = script_json({"obs": "</script><script>alert(1)</script><!--", "line": "a\u2028b"})
    assert "</" not in text and "<!--" not in text and "\u2028" not in text
    assert json.loads(text) == {"obs": "</script><script>alert(1)</script><!--", "line": "a\u2028b"}


def test_pack_is_gzip_base64_that_round_trips() -> None:
    obj = {"steps": [{"observation": "x" * 5000, "reply": "ünïcode ✓"}]}
    packed = pack(obj)
    raw = base64.b64decode(packed)
    assert raw[:2] == b"\x1f\x8b"  # a gzip member: what DecompressionStream("gzip") reads
    assert json.loads(gzip.decompress(raw)) == obj
    assert len(packed) < 1000  # repetitive text compresses


def test_empty_store_gives_a_report_that_says_so(tmp_path: Path) -> None:
    Store(tmp_path / "runs").close()
    out = write_report(tmp_path / "runs", tmp_path / "r.html")
    data = embedded(out.read_text(), "perpass-data")
    assert data["meta"]["episodes"] == 0 and data["episodes"] == []
    assert "no finished episode" in data["meta"]["message"]


def test_store_with_only_unfinished_episodes_says_so(tmp_path: Path) -> None:
    db = tmp_path / "runs" / "perpass.db"
    with StoreBuilder(db) as b:
        cell = b.route("m/baseline", prices={"input": 1.0, "output": 2.0})
        b.episode(cell, "t1", status="started")
    data = embedded(write_report(tmp_path / "runs", tmp_path / "r.html").read_text(), "perpass-data")
    assert data["meta"]["unfinished"] == 1 and data["meta"]["episodes"] == 0
    assert "no finished episode" in data["meta"]["message"]


def test_every_episode_has_a_row_and_a_transcript_with_its_calls_priced(tmp_path: Path) -> None:
    db = tmp_path / "runs" / "perpass.db"
    with StoreBuilder(db) as b:
        cell = b.route("m/baseline", prices={"input": 1.0, "output": 10.0})
        passed = b.episode(cell, "t1", passed=True, calls=[(1000, 0, 100, 0, 1.0)] * 2)
        failed = b.episode(cell, "t1", repeat=1, ceiling="turn", calls=[(2000, 0, 50, 0, 1.0)])
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO steps (episode_id, idx, reply, action, observation, exit_code)"
                 " VALUES (?, 0, ?, ?, ?, 1)", (failed, "```bash\npytest\n```", "pytest", "1 failed"))
    conn.execute("UPDATE episodes SET verifier_output = 'FAILED test_x' WHERE id = ?", (failed,))
    conn.commit()
    conn.close()
    html = write_report(tmp_path / "runs", tmp_path / "r.html").read_text()
    data = embedded(html, "perpass-data")
    rows = {r["id"]: r for r in data["episodes"]}
    assert rows[passed]["verdict"] == "pass" and rows[failed]["verdict"] == "fail"
    assert rows[failed]["stop"] == "turn_limit" and rows[failed]["ceiling"] == "turn"
    assert rows[passed]["cost"] == pytest.approx(2 * (1000 * 1.0 + 100 * 10.0) / 1e6)
    transcripts = embedded(html, "perpass-transcripts")
    t = json.loads(gzip.decompress(base64.b64decode(transcripts[str(failed)])))
    assert t["verifier_output"] == "FAILED test_x"
    assert t["steps"][0]["observation"] == "1 failed"
    assert t["steps"][0]["call"]["cost"] == pytest.approx((2000 * 1.0 + 50 * 10.0) / 1e6)


def test_a_computed_analysis_is_used_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "runs" / "perpass.db"
    with StoreBuilder(db) as b:
        cell = b.route("m/baseline", prices={"input": 1.0, "output": 10.0})
        b.episode(cell, "t1", passed=True, calls=[(1000, 0, 100, 0, 1.0)])
        b.episode(cell, "t2", ceiling="capability", calls=[(2000, 0, 50, 0, 1.0)])
    fresh = embedded(write_report(tmp_path / "runs", tmp_path / "a.html").read_text(), "perpass-data")
    an = analyze(tmp_path / "runs")
    decision = make_decision(an)

    def no_second_analysis(*args: object, **kwargs: object) -> None:
        raise AssertionError("the store was analysed again")

    monkeypatch.setattr(html_report, "analyze", no_second_analysis)
    monkeypatch.setattr(html_report, "make_decision", no_second_analysis)
    given = embedded(write_report(tmp_path / "runs", tmp_path / "b.html", analysis=an, decision=decision)
                     .read_text(), "perpass-data")
    assert isinstance(fresh, dict) and isinstance(given, dict)
    for data in (fresh, given):
        data["meta"].pop("generated_at")
    assert given == fresh and len(given["episodes"]) == 2


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_perpass("report", *args)


def test_cli_writes_the_report_and_bad_store_is_one_line_exit_2(tmp_path: Path) -> None:
    Store(tmp_path / "runs").close()
    out = run_cli("--store", str(tmp_path / "runs"), "--out", str(tmp_path / "sub" / "report.html"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "sub" / "report.html").stat().st_size > 1000 and "report.html" in out.stdout
    bad = run_cli("--store", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x.html"))
    assert bad.returncode == 2 and "no run store" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.html").exists()


def test_report_of_a_large_synthetic_store_is_quick_to_write(tmp_path: Path) -> None:
    db = tmp_path / "runs" / "perpass.db"
    with StoreBuilder(db) as b:
        for m in range(4):
            cell = b.route(f"m{m}/baseline", prices={"input": 1.0 + m, "output": 5.0})
            for k in range(50):
                b.episode(cell, f"t{k % 10}", repeat=k // 10, passed=(k + m) % 3 != 0,
                          calls=[(1000, 100, 80, 0, 0.5)] * 3)
    start = time.perf_counter()
    out = write_report(tmp_path / "runs", tmp_path / "r.html")
    assert time.perf_counter() - start < 20
    assert len(embedded(out.read_text(), "perpass-data")["episodes"]) == 200
