"""Budgets of one episode: observation size, prompt-size estimate, and stuck/format-error counters."""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass
from typing import Any

from perpass.agent.types import StopReason
from perpass.config import CloudPrices, Harness, LocalCosts, RouteBase
from perpass.endpoints.billing import CallUsage, lookup, token_cost
from perpass.endpoints.usage import Usage

CHARS_PER_TOKEN = 4  # a deliberately plain estimate; corrected by the server's own count after each call
MESSAGE_OVERHEAD_TOKENS = 8  # chat-template tokens around each message (role markers and separators)
CONTEXT_ERROR_HINTS = ("context length", "context window", "maximum context", "context_length_exceeded",
                       "exceed_context", "too many tokens", "exceeds the context", "prompt is too long")


def truncate_middle(text: str, max_chars: int) -> str:
    """Keep the head and the tail of a long output, with a visible marker where the middle was cut."""
    if len(text) <= max_chars:
        return text
    cut = len(text) - max_chars
    marker = f"\n[... {cut} characters cut ...]\n"
    keep = max(0, max_chars - len(marker))
    head = keep // 2
    tail = keep - head
    return text[:head] + marker + (text[-tail:] if tail else "")


def clean_output(text: str) -> str:
    """NUL bytes and other stray control characters break some chat templates; show them as '?'."""
    return "".join(c if c >= " " or c in "\n\t" else "?" for c in text) if _has_control(text) else text


def _has_control(text: str) -> bool:
    return any(c < " " and c not in "\n\t" for c in text)


def message_chars(message: dict[str, Any]) -> int:
    size = len(str(message.get("content") or ""))
    for call in message.get("tool_calls") or []:
        size += len(json.dumps(call))
    return size


def estimate_tokens(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> int:
    chars = sum(message_chars(m) for m in messages) + (len(json.dumps(tools)) if tools else 0)
    return chars // CHARS_PER_TOKEN + MESSAGE_OVERHEAD_TOKENS * len(messages)


@dataclass
class PromptEstimate:
    """Size of the next prompt: the server's last count plus what was appended since, else chars/4."""

    tools: list[dict[str, Any]] | None = None
    last_prompt_tokens: int | None = None
    counted_messages: int = 0  # how many history messages the last count covers (reply included)

    def after_call(self, usage: Usage, history_length: int) -> None:
        if usage.prompt_tokens is not None and usage.completion_tokens is not None:
            self.last_prompt_tokens = usage.prompt_tokens + usage.completion_tokens
            self.counted_messages = history_length
        else:
            self.last_prompt_tokens = None

    def next_prompt(self, messages: list[dict[str, Any]]) -> int:
        if self.last_prompt_tokens is None:
            return estimate_tokens(messages, self.tools)
        new = messages[self.counted_messages:]
        return self.last_prompt_tokens + estimate_tokens(new) + MESSAGE_OVERHEAD_TOKENS


def looks_like_context_overflow(error_text: str) -> bool:
    low = error_text.lower()
    return any(h in low for h in CONTEXT_ERROR_HINTS)


@dataclass
class Counters:
    """Consecutive counters behind the stuck, format-error and truncation stops."""

    format_errors: int = 0
    length_finishes: int = 0
    last_action: tuple[str, str] | None = None
    repeats: int = 0

    def saw_action(self, action: str, observation: str) -> int:
        """Record an action and its observation; return how many times in a row this pair occurred."""
        pair = (action, observation)
        self.repeats = self.repeats + 1 if pair == self.last_action else 1
        self.last_action = pair
        return self.repeats


def call_cost_usd(route: RouteBase, usage: Usage) -> float:
    """What one call cost, billed as the analysis bills it by default (endpoints/billing.py): a local
    route's compute time (else its wall time) at the box's $/h; a cloud route's tokens by the one token
    formula (cache reads and writes, whole-call tiers) at the route's prices, else the price database's;
    0 when neither knows the model (the analysis then says "unknown"; a cost budget cannot bite)."""
    if route.default_pricing == "local":
        seconds = usage.compute_s if usage.compute_s is not None else (usage.latency_s or 0.0)
        return seconds * (route.local_costs or LocalCosts()).hourly / 3600.0
    prices = route.prices or database_prices(route)
    if prices is None:
        return 0.0
    return float(token_cost(prices, CallUsage.from_usage(usage.to_dict()))[0])


def database_prices(route: RouteBase) -> CloudPrices | None:
    """The price database's prices for a route without its own (looked up once per route and model)."""
    if route.default_pricing != "cloud" or not route.base_url:
        return None
    return _database_prices(route.model, route.base_url)


@functools.lru_cache(maxsize=64)
def _database_prices(model: str, base_url: str) -> CloudPrices | None:
    entry = lookup(model, api_url=base_url)
    return entry.prices if entry else None


@dataclass
class Spend:
    """Model calls, tokens and dollars of one episode so far, against the episode's budgets."""

    max_calls: int
    max_total_tokens: int | None
    max_cost_usd: float | None
    deadline: float  # time.monotonic() at which the wall budget is used up
    calls: int = 0
    tokens: int = 0
    cost_usd: float = 0.0

    @classmethod
    def for_harness(cls, harness: Harness, deadline: float) -> Spend:
        return cls(harness.max_turns, harness.max_total_tokens, harness.max_cost_usd, deadline)

    def add(self, usage: Usage, cost_usd: float, *, count_call: bool = True) -> None:
        """count_call=False when the call was reserved before it was sent (the gateway's parallel calls)."""
        self.calls += count_call
        self.tokens += (usage.prompt_tokens or 0) + (usage.completion_tokens or 0)
        self.cost_usd += cost_usd

    def exhausted(self) -> tuple[StopReason, str] | None:
        """The budget the next call would break, and a sentence for the agent; None while all hold."""
        if self.calls >= self.max_calls:
            return StopReason.TURN_LIMIT, f"the episode's {self.max_calls} model calls are used up"
        if self.max_total_tokens is not None and self.tokens >= self.max_total_tokens:
            return StopReason.TOKEN_LIMIT, f"the episode's {self.max_total_tokens} tokens are used up ({self.tokens})"
        if self.max_cost_usd is not None and self.cost_usd >= self.max_cost_usd:
            return StopReason.COST_LIMIT, f"the episode's ${self.max_cost_usd:g} are spent (${self.cost_usd:.4f})"
        if time.monotonic() >= self.deadline:
            return StopReason.WALL_LIMIT, "the episode's wall-clock time is used up"
        return None
