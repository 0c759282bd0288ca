"""`perpass decide --litellm` against the real LiteLLM proxy (issue 16's "Show").

A real run store (the real scheduler; two cloud-like routes served by ScriptedServer and a local route
served by a llama-server look-alike that perpass starts), decided by the CLI; the proxy is started with
the written config and nothing else (master key from the environment, as the header says). Every model
group answers from its intended backend with the ranked sampling; a dead primary falls back; the proxy's
`x-litellm-response-cost` equals perpass's price for the same usage, cached tokens and the local route
(billed per second) included. Every route the routing file names passes `perpass smoke`.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from conftest import run_perpass
from deploy_helpers import fake_llama_server, run_routes_plan
from litellm_proxy import free_port, litellm_proxy
from runs_helpers import solving_script

from perpass.analysis.analyze import Analysis, analyze
from perpass.analysis.pricemodels import CallUsage, call_costs
from perpass.analysis.prices import PriceBook
from perpass.endpoints.client import Endpoint
from perpass.tasks import select_tasks
from perpass.testing import FaultPlan, ScriptedServer

CHECK = "perpass-proxy-check"
USAGE = {"prompt_tokens": 1000, "completion_tokens": 100, "prompt_tokens_details": {"cached_tokens": 800}}


class RecordingServer(ScriptedServer):
    """A cloud-like backend that keeps what each request asked for (minus the messages)."""

    def __init__(self, script: list[Any]) -> None:
        super().__init__(script)
        self.requests: list[dict[str, Any]] = []

    def _completion(self, request: dict[str, Any], messages: list[dict[str, Any]],
                    reply: dict[str, Any]) -> dict[str, Any]:
        self.requests.append({k: v for k, v in request.items() if k != "messages"})
        return super()._completion(request, messages, reply)


# Pass rates are clustered by task: T0 has one task, so 3 passes of it are one trial's worth (Wilson
# lower bound 0.21): the test's minimum is 0.2. On T1 the box solves 1 task of 3 (lower bound ~0.06).
T1_TASKS = 3
MIN_PASS_RATE = "0.2"


def script_for(name: str, solves: int) -> list[Any]:
    """Solves T0 and the first `solves` T1 tasks (submits at once on the others); answers the proxy check."""
    t0, t1 = select_tasks(None, ["T0"], None), select_tasks(None, ["T1"], None)[:T1_TASKS]
    unsolved = [{"when": t.instruction.strip()[:60], "replies": ["```bash\nsubmit\n```"]} for t in t1[solves:]]
    check = {"when": CHECK, "replies": [{"content": f"backend {name}", "usage": USAGE}]}
    return [check, *unsolved, *solving_script(t0 + t1[:solves])]


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("litellm")
    with (
        RecordingServer(script_for("cloud-a", T1_TASKS)) as cloud_a,
        RecordingServer(script_for("cloud-b", T1_TASKS)) as cloud_b,
        pytest.MonkeyPatch.context() as env,
    ):
        env.setenv("A_KEY", "sk-not-checked-a")  # the scripted backends take any key; the run needs one set
        env.setenv("B_KEY", "sk-not-checked-b")
        binary, local_requests = fake_llama_server(folder / "box", script_for("box", 1))
        (folder / "box.gguf").write_bytes(b"a llama-server look-alike needs no weights")
        routes = {
            "cloud-a": {"kind": "openai", "base_url": cloud_a.base_url, "model": "model-a", "api_key_env": "A_KEY",
                        "prices": {"input": 0.5, "cached_input": 0.05, "output": 2.0}},
            "cloud-b": {"kind": "openai", "base_url": cloud_b.base_url, "model": "model-b", "api_key_env": "B_KEY",
                        "prices": {"input": 3.0, "cached_input": 0.3, "output": 15.0}},
            "box": {"kind": "local", "model": "box-model", "gguf": str(folder / "box.gguf"),
                    "serving": {"server": "llama-server", "server_binary": str(binary), "port": free_port(),
                                "startup_timeout_s": 30},
                    "local_costs": {"hardware_price": 3000, "watts": 200, "kwh_price": 0.25}},
        }
        models = {"a": {"route": "cloud-a", "baseline": {"temperature": 0.4, "max_output_tokens": 300}},
                  "b": {"route": "cloud-b"}, "box": {"route": "box", "baseline": {"temperature": 0.1}},
                  "orc": {"route": "oracle"}}
        store = run_routes_plan(folder, routes, models, limit=T1_TASKS)
        out = run_perpass("decide", "--store", str(store), "--boot", "300", "--min-pass-rate", MIN_PASS_RATE,
                          "--reviewer-minutes", "0", "--false-done-drag", "0",
                          "--litellm", str(folder / "litellm.yaml"), "--json", cwd=folder)
        assert out.returncode == 0, out.stderr
        book = PriceBook(min_pass_rate=float(MIN_PASS_RATE))
        yield {"folder": folder, "store": store, "decision": json.loads(out.stdout), "an": analyze(store, book),
               "cloud-a": cloud_a, "cloud-b": cloud_b, "local_requests": local_requests,
               "config": folder / "litellm.yaml"}


def test_decision_has_the_groups_this_store_should_give(deployed: dict[str, Any]) -> None:
    config = yaml.safe_load(deployed["config"].read_text())
    routes = {d["model_name"]: d["model_info"]["perpass_route"] for d in config["model_list"]}
    # T0: the local box is cheapest; T1: it fails two tasks of three, so cloud-a is primary and the cascade
    # box → cloud-a (escalate on failed work) is cheaper than cloud-a alone.
    assert routes == {"tier-t0": "box", "tier-t0-fallback": "cloud-a", "tier-t1": "cloud-a",
                      "tier-t1-fallback": "cloud-b", "tier-t1-cascade-1": "box", "tier-t1-cascade-2": "cloud-a"}
    assert config["general_settings"] == {"master_key": "os.environ/LITELLM_MASTER_KEY"}
    assert {"tier-t1": ["tier-t1-fallback"]} in config["router_settings"]["fallbacks"]
    keys = {d["litellm_params"]["api_key"] for d in config["model_list"]}
    assert keys == {"os.environ/A_KEY", "os.environ/B_KEY", "none"}  # never a key, only where it lives
    text = deployed["config"].read_text()
    assert "litellm --config" in text.split("model_list:")[0] and "orc" not in text


def test_every_route_in_the_routing_file_passes_smoke(deployed: dict[str, Any]) -> None:
    routing = yaml.safe_load((deployed["store"] / "routing.yaml").read_text())
    assert {c["route"] for c in routing["configs"].values()} == {"box", "cloud-a", "cloud-b"}
    for label, config in routing["configs"].items():
        args = shlex.split(config["smoke"])
        out = run_perpass(*args[1:], "--json", "--log-dir", str(deployed["folder"] / "smoke"), cwd=deployed["folder"])
        assert out.returncode == 0, (label, out.stdout, out.stderr)


def perpass_price(an: Analysis, label: str, usage: dict[str, Any], seconds: float) -> float:
    """What perpass charges for one call with this usage: the same function that priced the run."""
    pricing = an.pricings[an.route_index(label)]
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    calls = CallUsage.of(prompt=usage["prompt_tokens"], cached=cached, completion=usage["completion_tokens"],
                         wall_s=seconds)
    return float(call_costs(pricing, calls)[0])


@pytest.mark.proxy
def test_the_real_proxy_routes_prices_and_falls_back_as_written(deployed: dict[str, Any],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    folder, an = deployed["folder"], deployed["an"]
    config = yaml.safe_load(deployed["config"].read_text())
    starts = {d["model_info"]["perpass_start"] for d in config["model_list"] if d["model_info"].get("perpass_start")}
    assert len(starts) == 1  # one local server, shared by tier-t0 and tier-t1-cascade-1
    local = subprocess.Popen(shlex.split(starts.pop()), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        with litellm_proxy(deployed["config"], {}, folder / "proxy.log") as proxy:
            wait_until_up(config)
            for deployment in config["model_list"]:
                group, info = deployment["model_name"], deployment["model_info"]
                params = deployment["litellm_params"]
                reply = proxy.chat(group, f"{CHECK} {group}")
                assert reply.status_code == 200, (group, reply.text[-2000:])
                assert reply.json()["choices"][0]["message"]["content"] == f"backend {info['perpass_route']}"
                cost = float(reply.headers["x-litellm-response-cost"])
                seconds = float(reply.headers["x-litellm-response-duration-ms"]) / 1000
                expected = perpass_price(an, info["perpass_config"], reply.json()["usage"], seconds)
                assert cost == pytest.approx(expected, rel=0.01), (group, cost, expected)
                sent = last_request(deployed, info["perpass_route"])
                assert (sent["temperature"], sent["max_tokens"]) == (params["temperature"], params["max_tokens"])
            # perpass's own client keeps the cost the proxy reports in its header beside its usage
            monkeypatch.setenv("PERPASS_TEST_PROXY_KEY", proxy.master_key)
            client = Endpoint(f"http://127.0.0.1:{proxy.port}/v1", "tier-t1", api_key_env="PERPASS_TEST_PROXY_KEY")
            through = client.chat([{"role": "user", "content": f"{CHECK} tier-t1"}], max_tokens=64)
            client.close()
            assert through.usage.provider_cost is not None and through.usage.provider_cost > 0
            assert through.usage.provider_cost == pytest.approx(
                perpass_price(an, config_of(config, "tier-t1"), through.raw["usage"], through.usage.latency_s or 0),
                rel=0.01)
            ranked = {d["model_name"]: d["litellm_params"] for d in config["model_list"]}
            assert (ranked["tier-t1"]["temperature"], ranked["tier-t1"]["max_tokens"]) == (0.4, 300)
            assert ranked["tier-t0"]["temperature"] == 0.1 and "input_cost_per_second" in ranked["tier-t0"]
            # A dead primary: the proxy falls back to the group written as its fallback.
            local.terminate()
            local.wait(timeout=10)
            reply = proxy.chat("tier-t0", f"{CHECK} fallback")
            assert reply.status_code == 200, reply.text[-2000:]
            assert reply.json()["choices"][0]["message"]["content"] == "backend cloud-a"
            # cloud-a drops every connection unanswered (stopping the server would leave the proxy's pooled
            # keep-alive connections served): tier-t1's primary is dead to the proxy, cloud-b answers.
            deployed["cloud-a"].faults = FaultPlan(rate=1.0, kinds=("drop",))
            reply = proxy.chat("tier-t1", f"{CHECK} fallback")
            assert reply.status_code == 200, reply.text[-2000:]
            assert reply.json()["choices"][0]["message"]["content"] == "backend cloud-b"
    finally:
        if local.poll() is None:
            local.terminate()
            local.wait(timeout=10)


def config_of(config: dict[str, Any], group: str) -> str:
    return next(d["model_info"]["perpass_config"] for d in config["model_list"] if d["model_name"] == group)


def wait_until_up(config: dict[str, Any], timeout_s: float = 30) -> None:
    """The local server the test started from the config's own command answers on its api_base."""
    bases = {d["litellm_params"]["api_base"] for d in config["model_list"] if d["model_info"].get("perpass_start")}
    deadline = time.monotonic() + timeout_s
    for base in bases:
        while True:
            try:
                if httpx.get(base.removesuffix("/v1") + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"the local server on {base} never answered"
            time.sleep(0.2)


def last_request(deployed: dict[str, Any], route: str) -> dict[str, Any]:
    if route == "box":
        return json.loads(deployed["local_requests"].read_text().splitlines()[-1])
    return deployed[route].requests[-1]


@pytest.mark.proxy
def test_an_anthropic_route_is_deployed_as_anthropic_and_the_proxy_reaches_it(tmp_path: Any) -> None:
    """A decision whose primary is a `kind: anthropic` route: litellm.yaml names it `anthropic/MODEL` at its
    api_base with its key from the environment, and the real proxy speaks Messages to it (a scripted
    Anthropic server here) and prices the call as perpass does."""
    from perpass.analysis.decide import decision
    from perpass.analysis.synthetic import StoreBuilder
    from perpass.report.litellm import litellm_yaml
    from perpass.testing.anthropic_server import AnthropicServer

    with AnthropicServer([f"backend claude {i}" for i in range(3)], api_key="sk-anthropic-test") as server:
        with StoreBuilder(tmp_path / "perpass.db") as b:
            cell = b.route("claude/baseline", kind="anthropic", model="claude-sonnet-4-5",
                           prices={"input": 3.0, "cached_input": 0.3, "cache_write": 3.75, "output": 15.0},
                           config={"base_url": server.base_url, "api_key_env": "ANTH_KEY"})
            for t in range(6):
                for r in range(3):
                    b.episode(cell, f"t{t}", repeat=r, passed=True, calls=[(1000, 0, 50, 0, 1.0)])
        an = analyze(tmp_path, PriceBook(), n_boot=200)
        config_path = tmp_path / "litellm.yaml"
        config_path.write_text(litellm_yaml(an, decision(an), config_path))
        config = yaml.safe_load(config_path.read_text())
        params = config["model_list"][0]["litellm_params"]
        assert params["model"] == "anthropic/claude-sonnet-4-5"
        assert params["api_base"] == server.base_url.rstrip("/") and params["api_key"] == "os.environ/ANTH_KEY"
        assert "sk-anthropic-test" not in config_path.read_text()
        with litellm_proxy(config_path, {"ANTH_KEY": "sk-anthropic-test"}, tmp_path / "proxy.log") as proxy:
            reply = proxy.chat("tier-t1", "say which backend you are")
            assert reply.status_code == 200, reply.text[-2000:]
            assert reply.json()["choices"][0]["message"]["content"] == "backend claude 0"
            assert server.stats.requests >= 1  # Messages, with the key from the environment (401 otherwise)
            cost = float(reply.headers["x-litellm-response-cost"])
            assert cost == pytest.approx(perpass_price(an, "claude/baseline", reply.json()["usage"], 0.0), rel=0.01)
