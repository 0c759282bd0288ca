"""Retries, deadlines and calls cut short: the same for every endpoint client (OpenAI-compatible,
Anthropic), so each client only says which of its errors are worth retrying.

Retries are ours, not the SDKs', so that each retry is counted in the usage record and `Retry-After`
is honoured exactly.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from perpass.endpoints.usage import Usage, normalise_usage

# The openai and anthropic SDKs (3.x) run on httpx2: a connection dropped mid-stream raises httpx2's
# errors, not httpx's, while perpass's own deadline raises httpx's. Both kinds are worth a retry.
try:
    import httpx2
    TRANSPORT_ERRORS: tuple[type[Exception], ...] = (httpx.TransportError, httpx2.TransportError)
except ImportError:  # older SDKs on httpx alone
    TRANSPORT_ERRORS = (httpx.TransportError,)

if TYPE_CHECKING:
    from perpass.endpoints.client import ChatReply

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 529}  # 529: Anthropic's "overloaded"


class EndpointError(Exception):
    """The endpoint failed after all retries (infra, never a model failure)."""

    def __init__(self, message: str, attempts: int, status: int | None = None) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.status = status  # the HTTP status of a refused request (not retried); None otherwise


class CallCutShort(EndpointError):
    """The call's deadline (the episode's wall budget) passed while the server was working on it.

    `usage` is what it had consumed: its time (local servers spend it either way) and, when streaming,
    the tokens received so far (providers bill what they generated before the stream was cut)."""

    def __init__(self, message: str, attempts: int, usage: Usage) -> None:
        super().__init__(message, attempts)
        self.usage = usage


@dataclass
class StreamProgress:
    """What a stream had delivered when it stopped, for a call cut short: content chunks, and the last
    body with usage in it (OpenAI's final chunk, Anthropic's message_start)."""

    chunks: int = 0
    last: dict[str, Any] = field(default_factory=dict)
    shape: str | None = None
    stop_at: float | None = None  # perf_counter time past which the stream is abandoned

    def check_deadline(self) -> None:
        """A read timeout bounds each read, not the whole stream: a server that keeps trickling tokens
        would outlive the episode's budget. Past `stop_at`, the stream is abandoned like a timeout."""
        if self.stop_at is not None and time.perf_counter() > self.stop_at:
            raise httpx.ReadTimeout("the stream ran past the call's deadline")


@dataclass(frozen=True)
class Backoff:
    max_retries: int = 4
    base_s: float = 0.5
    max_s: float = 30.0


Send = Callable[[float | None, StreamProgress], "ChatReply"]  # (seconds this attempt may take, progress)
Retryable = Callable[[Exception], "tuple[float | None, str] | None"]


def call_with_retries(send: Send, retryable: Retryable, backoff: Backoff, timeout_s: float | None) -> ChatReply:
    """Send until a reply comes, retrying what `retryable` says is worth it (honouring its Retry-After,
    else exponential backoff with jitter) within `timeout_s` in all. Past that deadline the call is cut
    short (CallCutShort, with what it consumed); out of retries, it is an EndpointError."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    first_started = time.perf_counter()
    attempt = 0
    while True:
        budget = None if deadline is None else max(0.1, deadline - time.monotonic())
        progress = StreamProgress(stop_at=None if budget is None else time.perf_counter() + budget)
        try:
            reply = send(budget, progress)
            reply.usage.retries = attempt
            return reply
        except Exception as err:
            try:
                verdict = retryable(err)
            except EndpointError as fatal:  # an error no retry will fix (a 400, a 401, ...)
                fatal.attempts = attempt + 1
                raise fatal from None
            if verdict is None:
                raise
            delay, why = verdict
        attempt += 1
        if deadline is not None and time.monotonic() >= deadline:
            usage = cut_short_usage(progress, time.perf_counter() - first_started, attempt - 1)
            raise CallCutShort(f"{why} (out of time after {attempt} attempts)", attempt, usage)
        if attempt > backoff.max_retries:
            raise EndpointError(f"{why} (after {attempt} attempts)", attempt)
        if delay is None:
            delay = min(backoff.max_s, backoff.base_s * 2 ** (attempt - 1))
            delay *= 0.5 + random.random() / 2  # jitter, so parallel clients do not retry in step
        time.sleep(min(delay, backoff.max_s))


def cut_short_usage(progress: StreamProgress, seconds: float, retries: int) -> Usage:
    """What a call cut short by its deadline consumed: its time and, when streaming, the server's own
    count if a usage chunk came, else one token per content chunk received (the tokens streamed so far)."""
    usage = normalise_usage(progress.last, progress.shape) if progress.last else Usage()
    if progress.chunks:  # Anthropic's message_start carries a placeholder output count of 1
        usage.completion_tokens = max(usage.completion_tokens or 0, progress.chunks)
    usage.latency_s = seconds
    usage.retries = retries
    usage.stream_chunks = progress.chunks
    usage.aborted = True
    usage.finish_reason = "cut_short"
    return usage


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    if headers is None:
        return None
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "…"
