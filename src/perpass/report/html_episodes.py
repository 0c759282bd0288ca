"""The episode browser's data: one summary row per finished episode, plus its transcript packed small.

Rows are what the browser filters and lists; they must stay light, because a report holds
thousands. Transcripts (every step's messages, reply, action, observation, timings and call usage,
with the verifier's output) are gzipped and base64-encoded one episode at a time, so the page
only unpacks the one a reader opens (DecompressionStream in the browser).
"""

from __future__ import annotations

import base64
import json
import sqlite3
import zlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from perpass.analysis.analyze import Analysis
from perpass.analysis.pricemodels import CallUsage, PriceModel, call_costs
from perpass.runs.schema import open_reader

EPISODE_SQL = """
SELECT id, repeat, attempts, turns, verifier_output, error, started_at, finished_at, agent, agent_log
FROM episodes WHERE status = 'finished'
"""
STEPS_SQL = """
SELECT episode_id, idx, messages_in_json, reply, tool_calls_json, action, observation, exit_code, action_s,
  harness_s FROM steps ORDER BY episode_id, idx
"""
CALLS_SQL = """
SELECT episode_id, idx, prompt_tokens, cached_prompt_tokens, completion_tokens, reasoning_tokens, latency_s,
  ttft_s, finish_reason, server_prompt_ms, server_decode_ms, retries, cache_write_tokens, cache_write_1h_tokens,
  provider_cost, aborted FROM calls ORDER BY episode_id, idx
"""
CALL_KEYS = ("prompt_tokens", "cached_prompt_tokens", "completion_tokens", "reasoning_tokens", "latency_s",
             "ttft_s", "finish_reason", "server_prompt_ms", "server_decode_ms", "retries", "cache_write_tokens",
             "cache_write_1h_tokens", "provider_cost", "aborted")


@dataclass
class EpisodeData:
    rows: list[dict[str, Any]]  # one per finished episode, what the browser lists and filters
    transcripts: dict[str, str]  # episode id → base64(gzip(JSON transcript))


def pack(obj: Any) -> str:
    """gzip (not zlib/deflate-raw): the format every browser's DecompressionStream('gzip') reads."""
    raw = json.dumps(obj, separators=(",", ":"), default=str).encode()
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31 = gzip header and trailer
    return base64.b64encode(compressor.compress(raw) + compressor.flush()).decode("ascii")


def call_cost(pricing: PriceModel, call: dict[str, Any]) -> float | None:
    """The same formula the analysis bills episodes with, applied to one call (None: price unknown)."""
    cost = float(call_costs(pricing, CallUsage.from_usage(call))[0])
    return None if np.isnan(cost) else cost


def config_name(factor: str | None, level: Any) -> str:
    """How a cell differs from its model's baseline: "baseline" or "factor=level"."""
    if factor is None:
        return "baseline"
    short = factor.rsplit(".", 1)[-1]
    return f"{short}={json.dumps(level) if not isinstance(level, str) else level}"


def verdict_of(passed: bool, infra: bool) -> str:
    return "infra" if infra else ("pass" if passed else "fail")


def load_json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text  # keep what was stored rather than lose it


def read_details(db: sqlite3.Connection) -> tuple[dict[int, tuple[Any, ...]], dict[int, list[dict[str, Any]]],
                                                  dict[int, list[dict[str, Any]]]]:
    extra = {int(r[0]): r[1:] for r in db.execute(EPISODE_SQL)}
    steps: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for eid, idx, msgs, reply, tool_calls, action, obs, code, action_s, harness_s in db.execute(STEPS_SQL):
        steps[int(eid)].append({"idx": idx, "messages_in": load_json(msgs), "reply": reply,
                                "tool_calls": load_json(tool_calls), "action": action, "observation": obs,
                                "exit_code": code, "action_s": action_s, "harness_s": harness_s})
    calls: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in db.execute(CALLS_SQL):
        calls[int(row[0])].append({"idx": row[1], **dict(zip(CALL_KEYS, row[2:], strict=True))})
    return extra, steps, calls


def episode_data(an: Analysis) -> EpisodeData:
    d = an.data
    _, db = open_reader(d.path)
    try:
        extra, steps, calls = read_details(db)
    finally:
        db.close()
    rows: list[dict[str, Any]] = []
    transcripts: dict[str, str] = {}
    for k in range(d.n):
        eid = int(d.episode_id[k])
        r = int(d.route[k])
        route = d.routes[r]
        repeat, attempts, turns, verifier_output, error, started, finished, agent, agent_log = \
            extra.get(eid, (None,) * 9)
        ep_calls = calls.get(eid, [])
        pricing = an.pricings[r]
        for c in ep_calls:
            c["cost"] = call_cost(pricing, c)
        by_idx = {c["idx"]: c for c in ep_calls}
        ep_steps = steps.get(eid, [])
        for s in ep_steps:
            s["call"] = by_idx.get(s["idx"])  # a step is one call plus its action: same index
        stop = str(d.stop_reason[k]) or None
        rows.append({
            "id": eid, "route": route.label, "model": route.model_key, "config": config_name(route.factor,
                                                                                            route.level),
            "task": d.task_ids[d.task[k]], "tier": str(d.tier[k]), "repeat": repeat,
            "verdict": verdict_of(bool(d.passed[k]), bool(d.infra[k])), "stop": stop,
            "reason": str(d.verdict_reason[k]) or None,
            "ceiling": str(d.ceiling[k]) or None, "false_done": bool(d.submitted[k] and not d.passed[k]
                                                                    and not d.infra[k]),
            "turns": turns, "calls": int(d.calls[k]), "prompt": int(d.prompt[k]),
            "completion": int(d.completion[k]), "cost": float(an.costs[k]),
            "overhead": float(an.overheads[k]),
            "wall": round(float(d.wall_s[k]), 3), "attempts": attempts, "steps": len(ep_steps),
            "agent": agent or "perpass",
        })
        step_idx = {s["idx"] for s in ep_steps}
        transcripts[str(eid)] = pack({"verifier_output": verifier_output, "error": error,
                                      "verdict": load_json(d.verdict_json[k]),
                                      "started_at": started, "finished_at": finished,
                                      "transcript_file": d.transcript[k], "steps": ep_steps,
                                      "agent_log": agent_log,
                                      "calls_without_step": [c for c in ep_calls
                                                             if c["idx"] not in step_idx]})
    return EpisodeData(rows, transcripts)
