"""`kind: scripted`: replies played from a script by a real HTTP server on loopback (tests, replays)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import model_validator

from perpass.config import PricingDefault, RouteBase
from perpass.endpoints.live import LiveRoute, connect
from perpass.endpoints.scripted_server import ScriptedServer


class ScriptedRoute(RouteBase):
    default_pricing: ClassVar[PricingDefault] = "free"  # unless the user prices it
    schema_rules: ClassVar[dict[str, object]] = {"anyOf": [{"required": ["script"]}, {"required": ["script_file"]}]}

    kind: Literal["scripted"] = "scripted"

    @model_validator(mode="after")
    def _needs_script(self) -> ScriptedRoute:
        if self.script is None and self.script_file is None:
            raise ValueError("a scripted route needs script (a list of replies) or script_file")
        return self

    @contextmanager
    def open(self, log_dir: Path) -> Iterator[LiveRoute]:
        with ScriptedServer(self.script or [], model=self.model) as scripted:
            endpoint = connect(self, scripted.base_url)
            try:
                yield LiveRoute(self, endpoint, scripted=scripted)
            finally:
                endpoint.close()
