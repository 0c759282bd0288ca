"""The model side of the loop: anything with `query(messages, tools) -> ChatReply`.

Two kinds: a real endpoint (local, cloud or scripted server) with the route's sampling and output
budget, and the oracle, which replays a task's solution as text-protocol replies at zero cost.
"""

from __future__ import annotations

from typing import Any, Protocol

from perpass.config import RouteBase
from perpass.endpoints.client import ChatReply, Endpoint
from perpass.endpoints.usage import Usage


class Model(Protocol):
    def query(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
              timeout_s: float | None = None) -> ChatReply: ...


class EndpointModel:
    """One route's endpoint, called with the route's sampling and max output tokens."""

    def __init__(self, endpoint: Endpoint, route: RouteBase) -> None:
        self.endpoint = endpoint
        self.route = route

    def query(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
              timeout_s: float | None = None) -> ChatReply:
        s = self.route.sampling
        return self.endpoint.chat(messages, max_tokens=self.route.harness.max_output_tokens,
                                  temperature=s.temperature, top_p=s.top_p, seed=s.seed, tools=tools,
                                  timeout_s=timeout_s)


class OracleModel:
    """Plays fixed replies in order; after the last one it keeps submitting.

    Usage stays all None: the oracle costs nothing, and an unknown must never look like a count.
    """

    def __init__(self, replies: list[str]) -> None:
        self.replies = list(replies)
        self.position = 0

    def query(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
              timeout_s: float | None = None) -> ChatReply:
        if self.position < len(self.replies):
            content = self.replies[self.position]
        else:
            content = "```bash\nsubmit\n```"
        self.position += 1
        return ChatReply(content, [], Usage(finish_reason="stop"))
