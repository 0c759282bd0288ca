"""`kind: local`: a GGUF served on this machine by llama-cpp-python or a user's llama-server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import model_validator

from perpass.config import PricingDefault, RouteBase
from perpass.endpoints.live import LiveRoute, connect
from perpass.endpoints.local import LocalServer


class LocalRoute(RouteBase):
    starts_server: ClassVar[bool] = True
    deployable: ClassVar[bool] = True
    default_pricing: ClassVar[PricingDefault] = "local"
    schema_rules: ClassVar[dict[str, object]] = {"required": ["gguf"]}

    kind: Literal["local"] = "local"

    @model_validator(mode="after")
    def _needs_gguf(self) -> LocalRoute:
        if not self.gguf:
            raise ValueError("a local route needs gguf: a GGUF file path or 'embedded'")
        return self

    @contextmanager
    def open(self, log_dir: Path) -> Iterator[LiveRoute]:
        with LocalServer(self, log_dir / f"server-{self.name}.log") as server:
            endpoint = connect(self, server.base_url)
            try:
                yield LiveRoute(self, endpoint, server=server)
            finally:
                endpoint.close()
