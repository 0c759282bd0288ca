"""What `perpass status` (and `run_plan`) report about a run: typed, with a published JSON Schema.

`docs/schemas/status.schema.json` is generated from `RunStatus` (`perpass schema status`); a test
checks the file matches the models and that real `perpass status --json` output validates.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Stored statuses: pending | running | done | smoke_failed | server_failed | oom | oom_predicted.
# `interrupted` is never stored: it is a `running` cell of a run that no live process holds.
INTERRUPTED = "interrupted"


class CellStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    model: str = Field(description="The plan's model group (its OFAT matrix).")
    label: str = Field(description="The cell's name, e.g. 'smollm2/temperature=0.7'.")
    route: str | None = Field(description="The plan's route the cell derives from.")
    factor: str | None = Field(description="The one factor changed from the baseline; null for the baseline.")
    level: Any = Field(description="The factor's level in this cell; null for the baseline.")
    config_hash: str
    status: str = Field(
        description="pending | running | interrupted (running, but no live `perpass run` holds it) | done | "
        "smoke_failed | server_failed | oom | oom_predicted"
    )
    reason: str | None = Field(description="Why the cell stopped, when it did.")
    planned: int = Field(ge=0)
    finished: int = Field(ge=0)
    started: int = Field(ge=0, description="Episodes begun and not finished (interrupted; re-run on resume).")
    infra: int = Field(ge=0)
    passed: int = Field(ge=0)


class AllocationStopStatus(BaseModel):
    """Adaptive allocation: a cell that stopped getting episodes on a tier, at which N, and why."""

    model_config = ConfigDict(extra="forbid")

    run_id: int
    cell: str
    tier: str
    repeats: int = Field(ge=0, description="N per task when it stopped.")
    episodes: int = Field(ge=0, description="Its valid episodes on the tier at that look.")
    kind: str = Field(description="cannot_reach_min_pass_rate | dearer_than_eligible_cell | tier_decided")
    reason: str


class RunStatus(BaseModel):
    model_config = ConfigDict(extra="forbid", title="perpass status --json")

    run_id: int | None = Field(description="null when the store holds no run yet.")
    plan: str | None = None
    trusted: bool = Field(description="False when the plan allowed repeats < 3.")
    planned: int = Field(ge=0)
    finished: int = Field(ge=0)
    started: int = Field(ge=0)
    infra: int = Field(ge=0)
    passed: int = Field(ge=0)
    done: bool = Field(False, description="The run reached its end (every cell done or stopped).")
    in_progress: bool = Field(False, description="A `perpass run` is running on this store now.")
    cells: list[CellStatus] = []
    allocation_stops: list[AllocationStopStatus] = Field(
        [], description="Cells an adaptive plan stopped early (empty under `allocation: fixed`).")
