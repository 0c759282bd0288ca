"""What `perpass plan --show` prints: the cells, their episode counts and an ETA."""

from __future__ import annotations

from typing import Any

from perpass.runs.plan import Plan
from perpass.runs.progress import eta_text
from perpass.runs.store import Store


def plan_overview(plan: Plan, store: Store | None = None) -> dict[str, Any]:
    """Cells with the one factor each changes, and an ETA from past episodes of the same config or route.

    The ETA covers what a `perpass run` would still do: episodes this plan already finished in the
    store are counted as done. A cell with no past measurement of its config borrows its route's
    mean; with none at all the ETA is unknown (None) rather than a made-up figure.
    """
    per_cell = len(plan.tasks) * plan.repeats
    plan_hash = plan.plan_hash()
    done = store.finished_per_config(plan_hash) if store else {}
    by_config = store.mean_episode_seconds("config_hash", [c.config_hash for c in plan.cells]) if store else {}
    by_route = store.mean_episode_seconds("route_name", sorted({c.route_name for c in plan.cells})) if store else {}
    cells = []
    for cell in plan.cells:
        mean = by_config.get(cell.config_hash, by_route.get(cell.route_name))
        finished = min(done.get(cell.config_hash, 0), per_cell)
        remaining = per_cell - finished
        eta = 0.0 if remaining == 0 else (mean * remaining if mean is not None else None)
        cells.append(
            {
                "label": cell.label,
                "model": cell.model_key,
                "route": cell.route_name,
                "factor": cell.factor,
                "level": cell.level,
                "changes": cell.changes,
                "baseline": cell.is_baseline,
                "config_hash": cell.config_hash,
                "episodes": per_cell,
                "finished": finished,
                "remaining": remaining,
                "eta_s": eta,
                "eta_text": eta_text(eta),
            }
        )
    known = [c["eta_s"] for c in cells if c["eta_s"] is not None]
    total = sum(known) if len(known) == len(cells) else None
    return {
        "plan_hash": plan_hash,
        "trusted": plan.trusted,
        "repeats": plan.repeats,
        "tasks": [t.id for t in plan.tasks],
        "episodes": plan.planned_episodes,
        "finished": sum(c["finished"] for c in cells),
        "remaining": sum(c["remaining"] for c in cells),
        "eta_s": total,
        "eta_text": eta_text(total),
        "cells": cells,
    }
