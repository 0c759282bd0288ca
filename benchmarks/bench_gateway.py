"""Overhead of the metering gateway per model call: `python benchmarks/bench_gateway.py [calls]`.

The same small client (stdlib http.client, one keep-alive connection, 200 chat completions) runs
1. on the host straight at a scripted server (the direct call), and
2. inside a bwrap session through the whole path an external agent uses: loopback port → in-sandbox
   forwarder → the gateway's Unix socket → the gateway (budget check, perpass's Endpoint, recording) →
   the same scripted server.
Both runs alternate in blocks, in the same process, and the medians' difference is the gateway's
overhead per call (target ≤ 2 ms). The load average is printed with it (the machine is shared).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from statistics import median

from perpass.agent.budget import Spend
from perpass.agent.external.episode import FORWARDER, GATEWAY_INSIDE, gateway_folder
from perpass.agent.gateway import GATEWAY_PORT, MeteringGateway
from perpass.config import Harness
from perpass.endpoints.client import Endpoint
from perpass.endpoints.kinds import make_route
from perpass.sandbox import Limits, Mount, SessionSpec, open_backend
from perpass.testing import ScriptedServer

TARGET_MS = 2.0
BLOCKS = 4
CLIENT = r"""
import http.client, json, sys, time
host, port, calls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "fix the bug " * 20}]})
conn = http.client.HTTPConnection(host, port, timeout=30)
took = []
for _ in range(calls):
    started = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    reply = conn.getresponse().read()
    took.append((time.perf_counter() - started) * 1000)
    assert json.loads(reply)["choices"][0]["message"]["content"] == "ok", reply[:200]
print(json.dumps(took))
"""


def main(calls: int = 200) -> None:
    per_block = calls // BLOCKS
    route = make_route(name="bench", kind="scripted", script=[], harness=Harness(max_turns=calls * 2))
    direct: list[float] = []
    gateway_ms: list[float] = []
    with ScriptedServer(["ok"]) as server:
        spend = Spend.for_harness(route.harness, time.monotonic() + 3600)
        endpoint = Endpoint(server.base_url, "m", max_retries=0)
        folder = gateway_folder()  # where the sandbox user can reach it
        with MeteringGateway(route, endpoint, spend, folder) as gateway:
            session = open_backend("bwrap").start(
                SessionSpec(Limits(), mounts=(Mount(str(gateway.folder), GATEWAY_INSIDE),)))
            try:
                started = session.run(FORWARDER, 30)
                assert started.exit_code == 0, started.output
                session.run(f"cat > /tmp/client.py <<'PY'\n{CLIENT}\nPY", 30)
                for _ in range(BLOCKS):
                    out = subprocess.run([sys.executable, "-c", CLIENT, "127.0.0.1", str(server.port), str(per_block)],
                                         capture_output=True, text=True, check=True).stdout
                    direct += json.loads(out)
                    inside = session.run(f"python /tmp/client.py 127.0.0.1 {GATEWAY_PORT} {per_block}", 120)
                    assert inside.exit_code == 0, inside.output
                    gateway_ms += json.loads(inside.output)
            finally:
                session.close()
            recorded = len(gateway.calls)
        shutil.rmtree(folder, ignore_errors=True)
    overhead = median(gateway_ms) - median(direct)
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(f"{len(direct)} direct calls, median {median(direct):.2f} ms")
    print(f"{len(gateway_ms)} calls through forwarder + gateway, median {median(gateway_ms):.2f} ms "
          f"(the gateway recorded {recorded})")
    verdict = "ok" if overhead <= TARGET_MS else "OVER TARGET"
    print(f"gateway overhead per call: {overhead:.2f} ms median (target ≤ {TARGET_MS:g} ms) {verdict}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
