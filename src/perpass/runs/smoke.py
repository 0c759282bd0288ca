"""`perpass smoke ROUTE`: the first gate. Does the route answer, and can its replies be parsed?"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from perpass.agent.text_protocol import parse_command
from perpass.endpoints.client import ChatReply, EndpointError
from perpass.endpoints.kinds import Route
from perpass.endpoints.local import ServerFailed
from perpass.endpoints.routes import LiveRoute, open_route
from perpass.endpoints.usage import Usage, sum_known
from perpass.errors import UserError

# A fixed short conversation: one worked example, then two asks. Small models follow the format
# far better after seeing it once.
SYSTEM = ("You are a coding agent working in a Linux shell. Reply with exactly one shell command "
          "in a fenced ```bash block and nothing else.")
EXAMPLE = [
    {"role": "user", "content": "List the files in the current folder."},
    {"role": "assistant", "content": "```bash\nls\n```"},
]
ASKS = ["Print the word hello.", "Show the contents of the file README.md."]


@dataclass
class SmokeResult:
    route: str
    ok: bool
    reason: str
    calls: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    decode_tok_s: float | None = None
    prompt_tok_s: float | None = None
    first_reply_s: float | None = None  # from smoke start (server start included) to the first reply
    server_start_s: float | None = None
    peak_rss_mb: float | None = None
    replies: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def measured_speeds(whole: Usage, streamed: Usage) -> tuple[float | None, float | None]:
    """(prompt tok/s, decode tok/s): the server's own timings when it sends them, else derived.

    Without timings, decode speed is the streamed call's chunks after the first over the time
    after the first; prefill speed is the whole call's prompt tokens over its latency less the
    time its completion took to decode at that speed.
    """
    decode = streamed.decode_tok_s if streamed.server_decode_ms else None
    prompt = whole.prompt_tok_s
    if decode is None and streamed.stream_chunks and streamed.ttft_s is not None and streamed.latency_s:
        gen_s = streamed.latency_s - streamed.ttft_s
        if streamed.stream_chunks > 1 and gen_s > 0:
            decode = (streamed.stream_chunks - 1) / gen_s
    if prompt is None and decode and whole.prompt_tokens and whole.completion_tokens and whole.latency_s:
        prefill_s = whole.latency_s - whole.completion_tokens / decode
        if prefill_s > 0:
            prompt = whole.prompt_tokens / prefill_s
    return prompt, decode


def run_smoke(route: Route, log_dir: Path) -> SmokeResult:
    """Start the route if local, send the fixed conversation, check replies and parse them."""
    started = time.perf_counter()
    try:
        with open_route(route, log_dir) as live:
            remote = route.remote_url()
            if remote:
                check_reachable(remote)
            return smoke_live(live, started)
    except ServerFailed as err:
        return server_failed(route, err)


def server_failed(route: Route, err: ServerFailed) -> SmokeResult:
    """A local server that did not start: out of memory fails the smoke; anything else is bad input."""
    if err.oom:  # the route is real but does not fit this machine: a failed smoke, not bad input
        return SmokeResult(route.name, False, f"out of memory: {err}")
    raise UserError(f"route {route.name}: {err}") from None


def check_reachable(base_url: str) -> None:
    """A refused connection is a setup problem (exit 2), not a model that fails smoke (exit 1)."""
    try:
        httpx.get(f"{base_url.rstrip('/')}/models", timeout=5.0)
    except httpx.ConnectError:
        raise UserError(f"cannot connect to {base_url}: connection refused; start the server or fix "
                        "base_url in the routes file") from None
    except httpx.HTTPError:
        pass  # reachable enough: auth or path problems show up in the smoke calls themselves


def smoke_live(live: LiveRoute, started: float | None = None) -> SmokeResult:
    """The smoke checks on a route that is already up (the scheduler reuses its started server).

    `started` is when the route started coming up, so first_reply_s includes server start.
    """
    route = live.route
    started = time.perf_counter() if started is None else started
    if live.endpoint is None:
        return SmokeResult(route.name, True, "oracle route needs no model", replies=[])
    history: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}, *EXAMPLE]
    replies: list[ChatReply] = []
    first_reply_s = None
    try:
        # The first ask is sent whole (for usage), the second streamed (for decode speed):
        # llama-cpp-python reports no timings, and streams one chunk per token.
        for ask, stream in zip(ASKS, (False, True), strict=True):
            history.append({"role": "user", "content": ask})
            reply = live.endpoint.chat(history, max_tokens=min(64, route.harness.max_output_tokens),
                                       temperature=route.sampling.temperature, top_p=route.sampling.top_p,
                                       seed=route.sampling.seed, stream=stream)
            first_reply_s = first_reply_s or time.perf_counter() - started
            history.append({"role": "assistant", "content": reply.content})
            replies.append(reply)
    except EndpointError as err:
        return SmokeResult(route.name, False, f"endpoint error: {err}")
    texts = [r.content for r in replies]
    prompt_tok_s, decode_tok_s = measured_speeds(replies[0].usage, replies[1].usage)
    result = SmokeResult(
        route.name, True, "ok", calls=len(replies),
        prompt_tokens=sum_known([r.usage.prompt_tokens for r in replies]),
        completion_tokens=sum_known([r.usage.completion_tokens for r in replies]),
        decode_tok_s=decode_tok_s, prompt_tok_s=prompt_tok_s, first_reply_s=first_reply_s,
        server_start_s=live.server.startup_s if live.server else None, replies=texts,
    )
    if live.server:
        result.peak_rss_mb = max(live.server.peak_rss_bytes, live.server.tree_rss_bytes()) / 2**20
    if not any(t.strip() for t in texts):
        result.ok, result.reason = False, "the model sent only empty replies"
    elif not any(parse_command(t) for t in texts):
        result.ok, result.reason = False, "no reply held a fenced shell block (text tool protocol unusable)"
    elif result.completion_tokens is None:
        result.reason = "ok (the server reported no token usage)"
    return result
