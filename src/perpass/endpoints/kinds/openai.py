"""`kind: openai`: any OpenAI-compatible server perpass does not start (a cloud API, a gateway, vLLM)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import model_validator

from perpass.config import RouteBase
from perpass.endpoints.live import LiveRoute, connect


class OpenAIRoute(RouteBase):
    deployable: ClassVar[bool] = True
    schema_rules: ClassVar[dict[str, object]] = {"required": ["base_url"]}

    kind: Literal["openai"] = "openai"

    @model_validator(mode="after")
    def _needs_base_url(self) -> OpenAIRoute:
        if not self.base_url:
            raise ValueError("an openai route needs base_url (the server's /v1 URL)")
        return self

    def remote_url(self) -> str | None:
        return self.base_url

    @contextmanager
    def open(self, log_dir: Path) -> Iterator[LiveRoute]:
        assert self.base_url is not None  # the validator saw to it
        endpoint = connect(self, self.base_url)
        try:
            yield LiveRoute(self, endpoint)
        finally:
            endpoint.close()
