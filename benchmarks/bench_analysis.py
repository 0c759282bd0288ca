"""Benchmark: analysis + cards + decision on a store of 10,000 episodes and 200,000 calls.

Every call is priced on its own (issue #13): cloud routes have a whole-call tier above 6,000 prompt
tokens and cache writes, local routes are priced from the server's compute time.

    .venv/bin/python benchmarks/bench_analysis.py [--repeats 3] [--boot 2000]

Builds the store once (not timed), then times the whole pipeline `write_outputs` does
(analyze → decision → cards with plots → routing file → LiteLLM config) and prints medians.
Target: ≤ 5 s with 2,000 bootstrap resamples.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from perpass.analysis.analyze import analyze
from perpass.analysis.decide import decision
from perpass.analysis.synthetic import StoreBuilder
from perpass.report.cards import write_cards
from perpass.report.litellm import write_litellm
from perpass.report.routing import write_routing
from perpass.runs.schema import open_reader

MODELS, CELLS_PER_MODEL, TASKS, REPEATS, CALLS_PER_EPISODE = 4, 5, 50, 10, 20


def build_store(db: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    factors = [
        None,
        ("harness.max_turns", 30),
        ("serving.n_ctx", 8192),
        ("sampling.temperature", 0.7),
        ("serving.kv_type", "q8_0"),
    ]
    with StoreBuilder(db) as b:
        cells = []
        for m in range(MODELS):
            for factor in factors[:CELLS_PER_MODEL]:
                label = f"model{m}/" + ("baseline" if factor is None else f"{factor[0]}={factor[1]}")
                kind = "local" if m % 2 == 0 else "openai"
                cells.append(
                    b.route(
                        label,
                        model_key=f"model{m}",
                        kind=kind,
                        prices=None if kind == "local" else {
                            "input": 0.5 + m, "output": 2 + 4 * m, "cached_input": 0.05 + m / 10,
                            "cache_write": 0.6 + m, "tiers": [{"above_prompt_tokens": 6000, "input": 1 + 2 * m,
                                                               "output": 3 + 6 * m}]},
                        local_costs={"hardware_price": 4000, "watts": 240} if kind == "local" else None,
                        factor=None if factor is None else factor[0],
                        level=None if factor is None else factor[1],
                    )
                )
        for t in range(TASKS):
            b._task(f"task{t:03d}", f"T{1 + t % 3}")
        episodes, calls = [], []
        eid = 0
        difficulty = rng.uniform(0, 1, TASKS)
        for c, cell in enumerate(cells):
            skill = 0.2 + 0.15 * (c // CELLS_PER_MODEL) + 0.05 * (c % CELLS_PER_MODEL)
            for t in range(TASKS):
                for r in range(REPEATS):
                    eid += 1
                    passed = rng.random() < np.clip(skill + 0.5 - difficulty[t], 0.02, 0.98)
                    ceiling = (
                        None
                        if passed
                        else str(
                            rng.choice(["turn", "token", "capability", "infra"], p=[0.3, 0.2, 0.45, 0.05])
                        )
                    )
                    stop = {
                        "turn": "turn_limit",
                        "token": "context_limit",
                        "capability": "submitted",
                        "infra": "endpoint_error",
                        None: "submitted",
                    }[ceiling]
                    episodes.append(
                        (
                            eid,
                            cell,
                            f"h-task{t:03d}",
                            f"task{t:03d}",
                            f"T{1 + t % 3}",
                            r,
                            "finished",
                            stop,
                            ceiling,
                            int(passed),
                            int(stop == "submitted"),
                            int(ceiling == "infra"),
                            CALLS_PER_EPISODE,
                            CALLS_PER_EPISODE,
                            float(rng.uniform(20, 200)),
                            f"episodes/{eid}/transcript.json",
                        )
                    )
                    prompt = rng.integers(500, 8000, CALLS_PER_EPISODE)
                    for i in range(CALLS_PER_EPISODE):
                        calls.append((eid, i, int(prompt[i]), int(prompt[i] // 2), 150, 30, 1.5, 140, 1200.0,
                                      int(prompt[i] // 10), 1.3))
        b.conn.executemany(
            "INSERT INTO episodes (id, cell_id, task_hash, task_id, tier, repeat, status, stop_reason,"
            " ceiling, passed, submitted, infra, turns, calls, wall_s, transcript, started_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
            episodes,
        )
        b.conn.executemany(
            "INSERT INTO calls (episode_id, idx, prompt_tokens, cached_prompt_tokens, completion_tokens,"
            " reasoning_tokens, latency_s, server_decode_n, server_decode_ms, cache_write_tokens, compute_s)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            calls,
        )


def run_once(store: Path, out: Path, boot: int) -> dict[str, float]:
    times = {}
    start = time.perf_counter()
    an = analyze(store, n_boot=boot)
    times["analyze"] = time.perf_counter() - start
    mark = time.perf_counter()
    result = decision(an)
    times["decision"] = time.perf_counter() - mark
    mark = time.perf_counter()
    write_cards(an, result, out / "cards")
    times["cards+plots"] = time.perf_counter() - mark
    mark = time.perf_counter()
    write_routing(an, result, out / "routing.yaml")
    write_litellm(an, result, out / "litellm.yaml")
    (out / "decision.json").write_text(json.dumps(result.to_json()))
    times["files"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - start
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--boot", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        build_store(store / "perpass.db")
        _, conn = open_reader(store)
        n_eps, n_calls = (
            conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("episodes", "calls")
        )
        conn.close()
        import matplotlib  # noqa: F401  (import cost is paid once per process, not per run: keep it out)

        runs = [run_once(store, Path(tmp) / f"out{i}", args.boot) for i in range(args.repeats)]
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(
        f"store: {n_eps} episodes, {n_calls} calls, {MODELS * CELLS_PER_MODEL} routes, {TASKS} tasks; "
        f"{args.boot} bootstrap resamples; {args.repeats} repeats"
    )
    for key in runs[0]:
        print(f"  {key:12s} median {statistics.median(r[key] for r in runs):6.2f} s")


if __name__ == "__main__":
    main()
