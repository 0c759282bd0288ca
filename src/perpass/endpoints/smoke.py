"""`perpass smoke ROUTE`: the first gate. Does the route answer, and can its replies be parsed?"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import median
from typing import Any

from perpass.agent.text_protocol import parse_command
from perpass.config import Route
from perpass.endpoints.client import EndpointError
from perpass.endpoints.local import ServerFailed
from perpass.endpoints.routes import open_route

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


def _sum(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def run_smoke(route: Route, log_dir: Path) -> SmokeResult:
    """Start the route if local, send the fixed conversation, check replies and parse them."""
    started = time.perf_counter()
    if route.kind == "oracle":
        return SmokeResult(route.name, True, "oracle route needs no model", replies=[])
    try:
        with open_route(route, log_dir) as live:
            assert live.endpoint is not None
            history: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}, *EXAMPLE]
            prompt, completion, decode, prefill, replies = [], [], [], [], []
            first_reply_s = None
            for ask in ASKS:
                history.append({"role": "user", "content": ask})
                reply = live.endpoint.chat(history, max_tokens=min(64, route.harness.max_output_tokens),
                                           temperature=route.sampling.temperature, top_p=route.sampling.top_p,
                                           seed=route.sampling.seed)
                first_reply_s = first_reply_s or time.perf_counter() - started
                history.append({"role": "assistant", "content": reply.content})
                replies.append(reply.content)
                prompt.append(reply.usage.prompt_tokens)
                completion.append(reply.usage.completion_tokens)
                if reply.usage.decode_tok_s:
                    decode.append(reply.usage.decode_tok_s)
                if reply.usage.prompt_tok_s:
                    prefill.append(reply.usage.prompt_tok_s)
            result = SmokeResult(
                route.name, True, "ok", calls=len(replies), prompt_tokens=_sum(prompt),
                completion_tokens=_sum(completion), decode_tok_s=median(decode) if decode else None,
                prompt_tok_s=median(prefill) if prefill else None, first_reply_s=first_reply_s,
                server_start_s=live.server.startup_s if live.server else None, replies=replies,
            )
            if live.server:
                result.peak_rss_mb = max(live.server.peak_rss_bytes, live.server.tree_rss_bytes()) / 2**20
    except EndpointError as err:
        return SmokeResult(route.name, False, f"endpoint error: {err}")
    except ServerFailed as err:
        return SmokeResult(route.name, False, ("out of memory: " if err.oom else "server failed: ") + str(err))
    if not any(r.strip() for r in result.replies or []):
        result.ok, result.reason = False, "the model sent only empty replies"
    elif not any(parse_command(r) for r in result.replies or []):
        result.ok, result.reason = False, "no reply held a fenced shell block (text tool protocol unusable)"
    elif not completion or all(c is None for c in completion):
        result.reason = "ok (the server reported no token usage)"
    return result
