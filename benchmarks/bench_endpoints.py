"""Client overhead per call against the scripted server, versus a bare httpx POST in the same run.

Run: .venv/bin/python benchmarks/bench_endpoints.py [--calls 200]
Both paths hit the same loopback server with the same request body, interleaved call by call so
that machine noise hits both equally; the difference of medians is perpass's client overhead
(openai SDK + retries wrapper + usage normalisation).
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx

from perpass.endpoints import Endpoint
from perpass.testing import ScriptedServer

MESSAGES = [{"role": "system", "content": "You are a coding agent."},
            {"role": "user", "content": "List the files."}]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    with ScriptedServer(["```bash\nls\n```"]) as server, httpx.Client(timeout=30) as bare:
        endpoint = Endpoint(server.base_url, "m")
        url = f"{server.base_url}/chat/completions"
        body = {"model": "m", "messages": MESSAGES, "max_tokens": 64}
        for _ in range(20):  # warm both connection pools
            endpoint.chat(MESSAGES, max_tokens=64)
            bare.post(url, json=body).json()
        ours, theirs = [], []
        for _ in range(args.calls):
            t = time.perf_counter()
            endpoint.chat(MESSAGES, max_tokens=64)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            bare.post(url, json=body).json()
            theirs.append(time.perf_counter() - t)
        endpoint.close()
    m_ours, m_bare = statistics.median(ours) * 1e3, statistics.median(theirs) * 1e3
    print(f"calls per path:            {args.calls}")
    print(f"perpass Endpoint.chat:     median {m_ours:.3f} ms")
    print(f"bare httpx POST:           median {m_bare:.3f} ms")
    print(f"client overhead per call:  {m_ours - m_bare:.3f} ms  (ratio {m_ours / m_bare:.2f}x)")


if __name__ == "__main__":
    main()
