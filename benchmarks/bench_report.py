"""Report at scale: a synthetic store of 1,000 episodes (10 steps each, realistic text) → file size, write
time, and load time in headless Chromium (median of several loads).

    .venv/bin/python benchmarks/bench_report.py [--episodes 1000] [--loads 5]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from _timing import timings

from perpass.analysis.synthetic import StoreBuilder
from perpass.report.html_report import write_report
from perpass.runs.schema import open_reader

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from report_helpers import browser_page  # noqa: E402

WORDS = ("def class return import assert self path test file error value line module pytest FAILED passed "
         "git commit push origin main branch diff index README library search query books title case lower "
         "upper result order spelling config README.md tests/test_library.py AssertionError None True"
         ).split()
SYSTEM = "You are an autonomous coding agent working in a git repository inside a Linux shell. " * 4


def text(rng: random.Random, n_words: int) -> str:
    lines, line = [], []
    for _ in range(n_words):
        line.append(rng.choice(WORDS) if rng.random() < 0.8 else f"{rng.randrange(10**6):x}")
        if len(line) >= rng.randint(6, 14):
            lines.append(" ".join(line))
            line = []
    return "\n".join(lines)


def build(db: Path, episodes: int, steps: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    routes = 8
    with StoreBuilder(db) as b:
        cells = [b.route(f"model{r // 2}/{'baseline' if r % 2 == 0 else 'max_turns=30'}",
                         model_key=f"model{r // 2}",
                         prices={"input": 0.2 + r, "output": 1.0 + 4 * r},
                         factor=None if r % 2 == 0 else "harness.max_turns", level=None if r % 2 == 0 else 30)
                 for r in range(routes)]
        ids = []
        for k in range(episodes):
            r = k % routes
            passed = rng.random() < 0.3 + 0.08 * r
            ceiling = rng.choice(["turn", "token", "capability", "capability"])
            tier = ("T1", "T2", "T3")[k % 3]
            ids.append(b.episode(cells[r], f"{tier.lower()}-task{(k // routes) % 12}", tier=tier,
                                 repeat=k // (routes * 12), passed=passed, ceiling=ceiling,
                                 calls=[(1500 + 400 * s, 1000, 120, 0, 0.8) for s in range(steps)],
                                 wall_s=rng.uniform(5, 90)))
        rows = []
        for eid in ids:
            for s in range(steps):
                msgs = ([{"role": "system", "content": SYSTEM}, {"role": "user", "content": text(rng, 120)}]
                        if s == 0 else [{"role": "user", "content": text(rng, 150)}])
                rows.append((eid, s, json.dumps(msgs), f"```bash\n{text(rng, 12)}\n```", text(rng, 12),
                             text(rng, 150), rng.choice([0, 1]), 0.3, 0.001))
        b.conn.executemany("INSERT INTO steps (episode_id, idx, messages_in_json, reply, action, observation,"
                           " exit_code, action_s, harness_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        b.conn.execute("UPDATE episodes SET verifier_output = ?", (text(rng, 200),))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--episodes", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--loads", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "runs" / "perpass.db"
        build(db, args.episodes, args.steps)
        with closing(open_reader(db)[1]) as conn:
            raw = sum(len(r[0] or "") + len(r[1] or "") + len(r[2] or "") for r in conn.execute(
                "SELECT messages_in_json, reply, observation FROM steps"))
        out = Path(tmp) / "report.html"
        writes = timings(lambda: write_report(db.parent, out), 3)
        size = out.stat().st_size
        loads, opens = [], []
        with browser_page() as (page, errors):
            for _ in range(args.loads):
                start = time.perf_counter()
                page.goto(out.resolve().as_uri())
                page.wait_for_selector("body[data-ready]", timeout=60_000)
                loads.append(time.perf_counter() - start)
                start = time.perf_counter()
                page.locator("#episode-table tbody tr >> nth=0").click()
                page.wait_for_selector("#episode-view .step")
                opens.append(time.perf_counter() - start)
            assert not errors, errors
    print(f"episodes: {args.episodes} × {args.steps} steps; raw transcript text {raw / 1e6:.1f} MB")
    print(f"report size: {size / 1e6:.2f} MB (budget 15 MB)")
    print(f"write_report: median {statistics.median(writes):.2f} s over {len(writes)}")
    print(f"load in headless Chromium: median {statistics.median(loads):.2f} s over {len(loads)} "
          "(budget 3 s)")
    print(f"open one episode (unpack + render): median {statistics.median(opens) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
