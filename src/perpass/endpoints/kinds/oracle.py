"""`kind: oracle`: plays each task's reference solution. No model, no cost: a yardstick in tables
(and the task-pack check), never a route to send work to."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar, Literal

from perpass.config import PricingDefault, RouteBase
from perpass.endpoints.live import LiveRoute


class OracleRoute(RouteBase):
    reference: ClassVar[bool] = True
    default_pricing: ClassVar[PricingDefault] = "free"

    kind: Literal["oracle"] = "oracle"

    @contextmanager
    def open(self, log_dir: Path) -> Iterator[LiveRoute]:
        yield LiveRoute(self, None)  # the agent loop plays the task's oracle replies itself
