"""Harness overhead of the agent loop, without a model: `python benchmarks/bench_agent.py [episodes]`.

A scripted server replays a fixed 20-step episode of `true` on the T0 task. Prints medians (this
machine is shared and noisy) against the targets of issue 3's Performance section.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from perpass.agent.loop import run_episode
from perpass.config import Harness
from perpass.endpoints.kinds import make_route
from perpass.endpoints.routes import open_route
from perpass.sandbox import open_backend
from perpass.tasks import builtin_tasks
from perpass.verifier.sandboxed import unchanged_delivery, verify

STEPS = 20
# The verifier's overhead beyond the hidden tests (target 200 ms) is measured by bench_verifier.py; here
# the whole verification of the T0 task is shown, without a target.
TARGETS_MS = {"harness per step": 5, "sandboxed true": 3, "episode set-up": 150}


def main(episodes: int = 5) -> None:
    task = next(t for t in builtin_tasks() if t.tier == "T0")
    script = ["```bash\ntrue\n```"] * STEPS + ["```bash\nsubmit\n```"]
    route = make_route(name="bench", kind="scripted", script=script,
                       harness=Harness(max_turns=STEPS + 5, stuck_repeats=STEPS + 5))
    backend = open_backend("bwrap")
    harness_ms: list[float] = []
    action_ms: list[float] = []
    setup_ms: list[float] = []
    verify_ms: list[float] = []
    step_ms: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, open_route(route, Path(tmp) / "logs") as live:
        for i in range(episodes):
            result = run_episode(task, live, backend, Path(tmp) / f"episode-{i}")
            assert result.stop_reason == "submitted" and result.turns == STEPS + 1, result.summary()
            commands = [s for s in result.steps if s.action == "true"]
            harness_ms += [(s.harness_s or 0) * 1000 for s in commands]
            action_ms += [(s.action_s or 0) * 1000 for s in commands]
            step_ms.append((result.wall_s - (result.setup_s or 0) - (result.verify_s or 0)) * 1000 / result.turns)
            setup_ms.append((result.setup_s or 0) * 1000)  # the session start, seed unpacked
        for _ in range(episodes * 2):
            started = time.perf_counter()
            verify(task, unchanged_delivery(task), backend)
            verify_ms.append((time.perf_counter() - started) * 1000)
    figures = {"harness per step": median(harness_ms), "sandboxed true": median(action_ms),
               "episode set-up": median(setup_ms)}
    print(f"{episodes} episodes x {STEPS} steps of `true` (scripted server, bwrap sandbox, task {task.id})")
    for name, value in figures.items():
        verdict_text = "ok" if value <= TARGETS_MS[name] else "OVER"
        print(f"  {name:<18} median {value:7.2f} ms   target <= {TARGETS_MS[name]} ms   {verdict_text}")
    print(f"  {'whole step':<18} median {median(step_ms):7.2f} ms   (model call + sandbox + harness)")
    print(f"  {'verify (whole)':<18} median {median(verify_ms):7.2f} ms   (session start to close; the overhead "
          "beyond the hidden tests: bench_verifier.py)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
