"""perpass's step against its peer's, side by side: mini-swe-agent with its local environment (no sandbox
at all) against perpass with bwrap and with `--sandbox none`, on the same zero-latency scripted server.

Run: .venv/bin/python benchmarks/bench_peer.py [--rounds 9] [--steps 21]

Each round runs one episode of each, interleaved (so a busy machine slows all three alike): `steps - 1`
replies of `true`, then the agent's own way to finish. The figure is the per-step wall of the agent loop
(model call + command + harness; session start and verification excluded for perpass, set-up excluded for
mini-swe-agent). mini-swe-agent is installed from PyPI into a throwaway venv under the perpass cache (kept
for the next run); when that cannot be done, the benchmark says so and exits 0 without a figure.
Target (issue 10): perpass with bwrap <= 1.0x mini-swe-agent, medians of >= 9 rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from statistics import median

from perpass.agent.loop import run_episode
from perpass.config import Harness
from perpass.endpoints.kinds import make_route
from perpass.endpoints.routes import open_route
from perpass.sandbox import open_backend
from perpass.sandbox.task_python import cache_root
from perpass.tasks import builtin_tasks
from perpass.testing import ScriptedServer

MINI_VERSION = "2.4.6"
# Driven by perpass's scripted server; one JSON line per episode on stdout: {"steps": n, "loop_s": t}.
MINI_DRIVER = textwrap.dedent('''
    import json, os, sys, tempfile, time, yaml, logging
    results = os.fdopen(os.dup(1), "w")  # litellm prints to stdout: results get the original, noise goes to stderr
    os.dup2(2, 1)
    from importlib.resources import files
    from minisweagent.agents.default import DefaultAgent
    from minisweagent.environments.local import LocalEnvironment
    from minisweagent.models.litellm_textbased_model import LitellmTextbasedModel
    logging.disable(logging.CRITICAL)
    config = yaml.safe_load((files("minisweagent.config") / "mini_textbased.yaml").read_text())
    base_url = sys.argv[1]
    for line in sys.stdin:
        with tempfile.TemporaryDirectory() as cwd:
            # A model litellm knows (its cost lookup succeeds as for a real one), served by the scripted server.
            model = LitellmTextbasedModel(model_name="openai/gpt-4o-mini",
                                          model_kwargs={"api_base": base_url, "api_key": "none"})
            agent = DefaultAgent(model, LocalEnvironment(cwd=cwd), **{**config["agent"], "step_limit": 100})
            started = time.perf_counter()
            result = agent.run("run true until told to stop")
            took = time.perf_counter() - started
        print(json.dumps({"steps": agent.n_calls, "loop_s": took, "exit": result.get("exit_status")}), file=results,
              flush=True)
''')


def mini_python() -> Path | None:
    """The throwaway venv's python with mini-swe-agent installed (built once, then reused)."""
    venv = cache_root() / "bench" / f"mini-swe-agent-{MINI_VERSION}"
    python = venv / "bin" / "python"
    if (venv / ".ready").exists():
        return python
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"mini-swe-agent=={MINI_VERSION}"], check=True,
                       capture_output=True, timeout=900)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        print(f"mini-swe-agent {MINI_VERSION} could not be installed from PyPI ({exc}); no comparison made")
        return None
    (venv / ".ready").write_text("ok\n")
    return python


def perpass_step_s(result) -> float:  # type: ignore[no-untyped-def]
    loop_s = sum((s.usage.latency_s or 0) + (s.action_s or 0) + (s.harness_s or 0) for s in result.steps)
    return loop_s / result.turns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--steps", type=int, default=21)
    args = parser.parse_args()
    python = mini_python()
    if python is None:
        return
    trues = args.steps - 1
    mini_script = ["```mswea_bash_command\ntrue\n```"] * trues + \
        ["```mswea_bash_command\necho COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT\n```"]
    route = make_route(name="peer", kind="scripted", script=["```bash\ntrue\n```"] * trues + ["```bash\nsubmit\n```"],
                       harness=Harness(max_turns=args.steps + 5, stuck_repeats=args.steps + 5))
    task = next(t for t in builtin_tasks() if t.tier == "T0")
    backends = {"bwrap": open_backend("bwrap"), "none": open_backend("none")}
    per_step: dict[str, list[float]] = {"mini-swe-agent (local)": [], "perpass bwrap": [], "perpass none": []}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="perpass-bench-peer-") as tmp, \
            ScriptedServer(mini_script) as mini_server, open_route(route, Path(tmp) / "logs") as live:
        driver = Path(tmp) / "mini_driver.py"
        driver.write_text(MINI_DRIVER)
        mini = subprocess.Popen([str(python), str(driver), f"{mini_server.base_url}"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, env={**os.environ, "LITELLM_LOG": "ERROR",
                                                              "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
        assert mini.stdin is not None and mini.stdout is not None
        try:
            for index in range(args.rounds + 1):  # round 0 warms every path up and is not counted
                mini.stdin.write("go\n")
                mini.stdin.flush()
                report = json.loads(mini.stdout.readline())
                assert report["steps"] == args.steps, report
                samples = {"mini-swe-agent (local)": report["loop_s"] / report["steps"]}
                for name, backend in backends.items():
                    result = run_episode(task, live, backend, Path(tmp) / f"{name}-{index}")
                    assert result.turns == args.steps and result.stop_reason == "submitted", result.summary()
                    samples[f"perpass {name}"] = perpass_step_s(result)
                if index:
                    for key, value in samples.items():
                        per_step[key].append(value)
        finally:
            mini.stdin.close()
            mini.wait(timeout=30)
    print(f"{args.rounds} interleaved rounds of {args.steps}-step episodes of `true`, zero-latency scripted server;"
          f" load average {load_before[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end")
    for key, values in per_step.items():
        print(f"  {key:<24} per-step median {median(values) * 1000:7.2f} ms")
    ratio = median(per_step["perpass bwrap"]) / median(per_step["mini-swe-agent (local)"])
    print(f"  perpass bwrap / mini-swe-agent local: {ratio:.2f}x   target <= 1.0x   {'ok' if ratio <= 1 else 'OVER'}")


if __name__ == "__main__":
    main()
