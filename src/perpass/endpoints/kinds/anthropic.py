"""`kind: anthropic`: a model behind Anthropic's Messages API, on the official `anthropic` SDK.

`base_url` defaults to Anthropic's API (give a gateway's or the scripted server's otherwise); the key
comes from the variable `api_key_env` names. With `harness.prompt_cache: auto` (the default) the loop's
stable prefix is marked with `cache_control`, as production agents do; `off` sends no marker.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar, Literal

from perpass.config import RouteBase
from perpass.endpoints.live import LiveRoute
from perpass.errors import UserError

ANTHROPIC_API = "https://api.anthropic.com"


class AnthropicRoute(RouteBase):
    deployable: ClassVar[bool] = True
    litellm_provider: ClassVar[str] = "anthropic"  # LiteLLM speaks Messages to it (and caches as Anthropic bills)

    kind: Literal["anthropic"] = "anthropic"

    def remote_url(self) -> str | None:
        return f"{(self.base_url or ANTHROPIC_API).rstrip('/')}/v1"

    def api_base(self) -> str:
        """The server's root, as the SDK and LiteLLM's anthropic provider take it (they add /v1/messages)."""
        return (self.base_url or ANTHROPIC_API).rstrip("/")

    @contextmanager
    def open(self, log_dir: Path) -> Iterator[LiveRoute]:
        if importlib.util.find_spec("anthropic") is None:
            raise UserError(f"route {self.name}: kind anthropic needs the anthropic SDK: "
                            "pip install 'perpass[anthropic]'")
        from perpass.endpoints.anthropic_client import AnthropicEndpoint  # the SDK takes seconds to import

        endpoint = AnthropicEndpoint(self.base_url or ANTHROPIC_API, self.model, api_key_env=self.api_key_env,
                                     timeout_s=self.timeout_s, max_retries=self.max_retries,
                                     prompt_cache=self.harness.prompt_cache == "auto")
        try:
            yield LiveRoute(self, endpoint)
        finally:
            endpoint.close()
