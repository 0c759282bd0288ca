"""A call the wall budget cuts short is recorded with what it consumed and billed, never free."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from agent_helpers import T0, bash, episode, task
from analysis_helpers import FREE_FAILS

from perpass.agent.loop import wall_budget_s
from perpass.analysis.analyze import analyze
from perpass.analysis.prices import PriceBook
from perpass.analysis.synthetic import StoreBuilder
from perpass.endpoints.client import CallCutShort, Endpoint
from perpass.endpoints.kinds import make_route
from perpass.runs.plan import ModelPlan, PlanFile, TaskSelection, resolve_plan
from perpass.runs.store import Store
from perpass.testing import ScriptedServer

HOURLY = {"hardware_price": 3600, "amortization_hours": 3600, "watts": 0, "kwh_price": 0}  # $1 per hour


def test_a_call_past_the_deadline_raises_with_its_time() -> None:
    with ScriptedServer([{"content": "late", "delay_s": 3.0}]) as server:
        endpoint = Endpoint(server.base_url, "m", max_retries=0)
        started = time.perf_counter()
        with pytest.raises(CallCutShort) as caught:
            endpoint.chat([{"role": "user", "content": "hi"}], timeout_s=0.6)
        endpoint.close()
    usage = caught.value.usage
    assert usage.aborted and usage.finish_reason == "cut_short"
    assert 0.5 <= (usage.latency_s or 0) <= time.perf_counter() - started


def test_an_episode_that_ends_at_the_wall_mid_call_keeps_and_counts_the_call(tmp_path: Path) -> None:
    result = episode([bash("true", delay_s=8.0)], tmp_path, wall_limit_s=1.0, max_turns=20)
    assert result.stop_reason == "wall_limit"
    assert result.calls == 1 and len(result.steps) == 1
    usage = result.steps[0].usage
    assert usage.aborted and usage.finish_reason == "cut_short"
    assert (usage.latency_s or 0) >= 0.5 and result.model_s >= 0.5  # model time is not 0
    assert (usage.prompt_tokens or 0) > 0  # the prompt it sent, as estimated: the server read it
    assert result.prompt_tokens == usage.prompt_tokens


def test_cut_short_calls_are_billed_by_time_for_local_and_by_tokens_for_cloud(tmp_path: Path) -> None:
    with StoreBuilder(tmp_path / "perpass.db") as b:
        local = b.route("loc/baseline", kind="local", local_costs=HOURLY)
        cloud = b.route("cld/baseline", prices={"input": 1, "output": 10})
        # one finished call, then one cut short after 36 s with 1000 prompt and 50 streamed tokens
        for cell in (local, cloud):
            b.episode(cell, "t1", ceiling="turn", calls=[(2000, 0, 100, 0, 4.0), (1000, 0, 50, 0, 36.0)])
    an = analyze(tmp_path, PriceBook(overheads=FREE_FAILS), n_boot=100)
    assert an.layers["loc/baseline"].per_episode == pytest.approx(40.0 / 3600)
    assert an.layers["cld/baseline"].per_episode == pytest.approx((3000 * 1 + 150 * 10) / 1e6)


def test_a_local_models_wall_budget_grows_with_host_contention_a_remote_ones_does_not() -> None:
    t0 = task(T0)  # time limit 60 s
    local = make_route(name="l", kind="local", gguf="embedded", harness={"wall_limit_s": 30})
    remote = make_route(name="r", kind="openai", base_url="http://127.0.0.1:9/v1", harness={"wall_limit_s": 30})
    assert wall_budget_s(local, t0, load=1.0, cpus=2) == 30  # an idle host: the budget as configured
    assert wall_budget_s(local, t0, load=6.0, cpus=2) == 90  # load 6 on 2 cores: 3×
    assert wall_budget_s(local, t0, load=40.0, cpus=2) == 120  # at most 4×
    assert wall_budget_s(remote, t0, load=6.0, cpus=2) == 30


def test_the_store_keeps_raw_usage_reported_cost_cut_short_calls_and_host_load(tmp_path: Path) -> None:
    """Through the real writer: what the endpoint sent, the cost it reported, the call the wall cut short."""
    spec = PlanFile(tasks=TaskSelection(tiers=["T0"]), repeats=3,
                    models={"orc": ModelPlan(route="oracle")})
    plan = resolve_plan(spec, tmp_path)
    reported = bash("echo hello > hello.txt", usage={"cost": 0.0021})
    finished = episode([reported, bash("true", delay_s=8.0)], tmp_path / "a", wall_limit_s=2.0, max_turns=20)
    assert finished.stop_reason == "wall_limit" and len(finished.steps) == 2
    with Store(tmp_path / "store") as store:
        run_id = store.begin_run(plan)
        eid = store.start_episode(store.cell_ids(run_id)[plan.cells[0].config_hash], plan.tasks[0], 0)
        store.finish_episode(eid, finished)
        rows = store.db.execute("SELECT raw_usage_json, usage_shape, provider_cost, aborted, latency_s FROM calls"
                                " WHERE episode_id = ? ORDER BY idx", (eid,)).fetchall()
        host = store.db.execute("SELECT host_load, host_cpus FROM episodes WHERE id = ?", (eid,)).fetchone()
    first, cut = rows
    assert json.loads(first[0])["usage"]["cost"] == 0.0021 and first[1] == "openai_chat" and first[2] == 0.0021
    assert cut[3] == 1 and cut[4] >= 0.5 and first[3] == 0
    assert host[0] is not None and host[1] == os.cpu_count()


def test_an_openai_stream_cut_by_the_deadline_keeps_the_tokens_streamed_so_far() -> None:
    """Providers bill what they generated before the stream was cut: a trickling stream cut at its deadline
    comes back with the chunks received counted as output tokens, and its time."""
    content = "x" * 400  # many content chunks
    with ScriptedServer([{"content": content, "chunk_delay_s": 0.05}]) as server:
        endpoint = Endpoint(server.base_url, "m", max_retries=0)
        with pytest.raises(CallCutShort) as caught:
            endpoint.chat([{"role": "user", "content": "hi"}], stream=True, timeout_s=0.8)
        endpoint.close()
    usage = caught.value.usage
    assert usage.aborted and usage.finish_reason == "cut_short"
    assert usage.stream_chunks is not None and usage.stream_chunks >= 3
    assert usage.completion_tokens == usage.stream_chunks
    assert 0.7 <= (usage.latency_s or 0) < 5.0
