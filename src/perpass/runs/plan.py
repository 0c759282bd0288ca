"""The plan file: which routes, which tasks, how many repeats, and each model's OFAT matrix.

`load_plan(path)` reads and checks a plan.yaml and expands it into cells: the baseline plus one
cell per non-baseline level of each factor, each changing exactly one factor. Every mistake is
one `UserError` naming the file and line.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationError, field_validator

from perpass.config import Strict, key_lines, load_yaml, validation_error
from perpass.endpoints.kinds import Route, parse_route
from perpass.endpoints.routes import load_routes
from perpass.errors import UserError
from perpass.runs.factors import FACTOR_FIELDS, apply_factors, factor_value, format_level

if TYPE_CHECKING:
    from perpass.tasks import Task

DEFAULT_REPEATS = 3
TRUSTED_MIN_REPEATS = 3


class TaskSelection(Strict):
    folder: str | None = None  # a folder of user tasks (each a task folder); default: the built-in packs
    tiers: list[str] | None = None  # e.g. [T0, T1]
    ids: list[str] | None = None
    limit: int | None = Field(None, ge=1)  # keep the first N tasks per tier (quick plans)


class ExplicitCell(Strict):
    """A cell stated by hand: `set` holds the factors it changes from the baseline."""

    set: dict[str, Any]
    allow_interactions: bool = False
    label: str | None = None


class ModelPlan(Strict):
    route: str
    baseline: dict[str, Any] = {}
    factors: dict[str, list[Any]] = {}
    cells: list[ExplicitCell] = []

    @field_validator("factors")
    @classmethod
    def _non_empty(cls, factors: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for name, levels in factors.items():
            if not levels:
                raise ValueError(f"factor '{name}' has no levels; list at least one, or remove it")
        return factors


class SmokeGate(Strict):
    enabled: bool = True
    episode: bool = True  # also run one episode of the T0 task through the whole loop
    require_pass: bool = False  # the T0 episode must pass (else: it must only not fail for infra/format)


class AdaptiveSettings(Strict):
    """`allocation: adaptive`: how the stopping rule (perpass.analysis.allocation) races the cells."""

    error_rate: float = Field(0.05, gt=0, le=0.5)  # chance, at most, of stopping the cell N = max would pick
    min_repeats: int = Field(TRUSTED_MIN_REPEATS, ge=TRUSTED_MIN_REPEATS)  # every cell gets these first
    prices: str | None = None  # a prices file (as `perpass decide --prices`): overheads and min_pass_rate


class PlanFile(Strict):
    routes_file: str | None = None
    routes: dict[str, dict[str, Any]] = {}
    tasks: TaskSelection = TaskSelection()
    repeats: int = Field(DEFAULT_REPEATS, ge=1)  # under `allocation: adaptive`, the maximum N
    allocation: Literal["fixed", "adaptive"] = "fixed"
    adaptive: AdaptiveSettings | None = None
    allow_single_run: bool = False
    infra_retries: int = Field(1, ge=0)
    oom_floor_mb: float | None = Field(None, gt=0)  # default: max(10 % of RAM, 2 GiB)
    smoke: SmokeGate = SmokeGate()
    sandbox: str = "bwrap"  # a sandbox backend by name; "none" runs commands unconfined (unsafe)
    keep_workspaces: bool = False  # save each episode's workspace as workspace.tar in its folder
    executor: str = "threads"  # where remote routes' episodes run: threads (this process) or ray (docs/ray.md)
    models: dict[str, ModelPlan]

    @field_validator("sandbox")
    @classmethod
    def _known_sandbox(cls, value: str) -> str:
        from perpass.sandbox.backends import BACKENDS  # late: plan checks do not start any sandbox

        if value not in BACKENDS:
            raise ValueError(f"unknown sandbox '{value}'; choose one of: {', '.join(BACKENDS)}")
        return value

    @field_validator("executor")
    @classmethod
    def _known_executor(cls, value: str) -> str:
        from perpass.runs.executors import EXECUTORS  # late: plan checks do not load the agent loop

        if value not in EXECUTORS:
            raise ValueError(f"unknown executor '{value}'; choose one of: {', '.join(EXECUTORS)}")
        return value


@dataclass(frozen=True)
class CellSpec:
    """One cell of a model's matrix: a full route config, and how it differs from the baseline."""

    model_key: str
    label: str
    route: Route
    factor: str | None  # None for the baseline
    level: Any
    changes: dict[str, Any]
    route_name: str = ""  # the plan's route this cell derives from

    @cached_property
    def config_hash(self) -> str:  # looked up per episode by the scheduler: hash the route once
        return self.route.config_hash()

    @property
    def is_baseline(self) -> bool:
        return self.factor is None and not self.changes


@dataclass
class Plan:
    source: Path | None
    spec: PlanFile
    routes: dict[str, Route]
    tasks: list[Task]
    cells: list[CellSpec]
    base_dir: Path = field(default_factory=Path.cwd)

    @property
    def trusted(self) -> bool:
        return self.spec.repeats >= TRUSTED_MIN_REPEATS

    @property
    def repeats(self) -> int:
        return self.spec.repeats

    @property
    def adaptive(self) -> AdaptiveSettings | None:
        """The stopping rule's settings when `allocation: adaptive`, else None."""
        return (self.spec.adaptive or AdaptiveSettings()) if self.spec.allocation == "adaptive" else None

    @property
    def planned_episodes(self) -> int:
        return len(self.cells) * len(self.tasks) * self.spec.repeats

    def plan_hash(self) -> str:
        """Identity of the run: configs, task contents, repeats. Comments and order do not count."""
        data = {
            "cells": sorted([c.model_key, c.label, c.config_hash] for c in self.cells),
            "tasks": sorted(t.content_hash for t in self.tasks),
            "repeats": self.spec.repeats,
        }
        return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:16]


class _Where:
    """Line numbers of keys in the plan file, for 'plan.yaml:LINE: ...' errors."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.lines = key_lines(path) if path and path.exists() else {}

    def error(self, keys: tuple[str, ...], message: str) -> UserError:
        name = str(self.path) if self.path else "plan"
        for n in range(len(keys), 0, -1):
            if keys[:n] in self.lines:
                return UserError(f"{name}:{self.lines[keys[:n]]}: {'.'.join(keys)}: {message}")
        return UserError(f"{name}: {'.'.join(keys)}: {message}")


def load_plan(path: Path) -> Plan:
    """Read plan.yaml, check it, and expand it into cells."""
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise UserError(f"{path}:1: expected a mapping with at least 'models:' (see `perpass init`)")
    try:
        spec = PlanFile.model_validate(data)
    except ValidationError as err:
        raise validation_error(path, err) from None
    return resolve_plan(spec, path.parent, path)


def resolve_plan(spec: PlanFile, base_dir: Path, source: Path | None = None) -> Plan:
    """Routes, tasks and cells of a checked PlanFile. `source` only serves error messages."""
    where = _Where(source)
    if spec.repeats < TRUSTED_MIN_REPEATS and not spec.allow_single_run:
        raise where.error(
            ("repeats",),
            f"{spec.repeats} is below {TRUSTED_MIN_REPEATS}: a single run is never "
            "trusted; raise it, or add 'allow_single_run: true' (results then marked "
            "not trusted)",
        )
    _check_allocation(spec, base_dir, where)
    if not spec.models:
        raise where.error(("models",), "name at least one model with its route")
    routes = _routes(spec, base_dir, where)
    tasks = _tasks(spec, base_dir, where)
    cells: list[CellSpec] = []
    for key, model in spec.models.items():
        if model.route not in routes:
            known = ", ".join(sorted(routes))
            raise where.error(
                ("models", key, "route"), f"unknown route '{model.route}'; known routes: {known}"
            )
        cells += [
            replace(c, route_name=model.route) for c in expand_model(key, model, routes[model.route], where)
        ]
    labels = [c.label for c in cells]
    for label in labels:
        if labels.count(label) > 1:
            raise where.error(("models",), f"two cells are both labelled '{label}'; rename one model key")
    return Plan(source, spec, routes, tasks, cells, base_dir)


def _check_allocation(spec: PlanFile, base_dir: Path, where: _Where) -> None:
    if spec.allocation == "fixed":
        if spec.adaptive is not None:
            raise where.error(
                ("adaptive",), "settings for adaptive allocation, but allocation is fixed; add "
                "'allocation: adaptive' or remove them"
            )
        return
    settings = spec.adaptive or AdaptiveSettings()
    if spec.repeats <= settings.min_repeats:
        raise where.error(
            ("repeats",),
            f"{spec.repeats}: under 'allocation: adaptive', repeats is the maximum N and must exceed the "
            f"{settings.min_repeats} every cell gets first (adaptive.min_repeats); raise it (10 is typical)",
        )
    if settings.prices and not (base_dir / settings.prices).is_file():
        raise where.error(("adaptive", "prices"), f"{settings.prices}: no such file (a prices file as for `--prices`)")


def _routes(spec: PlanFile, base_dir: Path, where: _Where) -> dict[str, Route]:
    routes = load_routes((base_dir / spec.routes_file).resolve() if spec.routes_file else None)
    for name, body in spec.routes.items():
        if not isinstance(body, dict):
            raise where.error(("routes", name), "expected a mapping of route settings")
        try:
            route = parse_route({**body, "name": str(name)})
        except ValidationError as err:
            if where.path:
                raise validation_error(where.path, err, ("routes", str(name))) from None
            raise UserError(f"plan: routes.{name}: {err.errors()[0]['msg']}") from None
        if route.script_file:
            script = load_yaml((base_dir / route.script_file).resolve())
            if not isinstance(script, list):
                raise where.error(("routes", name, "script_file"), "the script file must hold a YAML list")
            route = route.model_copy(update={"script": script})
        routes[str(name)] = route
    return routes


def _tasks(spec: PlanFile, base_dir: Path, where: _Where) -> list[Task]:
    from perpass.tasks import select_tasks  # late: tasks import sandbox, which plan checks do not need

    sel = spec.tasks
    folder = (base_dir / sel.folder).resolve() if sel.folder else None
    try:
        tasks = select_tasks(folder, sel.tiers, sel.ids)
    except UserError as err:
        raise where.error(("tasks",), str(err)) from None
    if sel.limit:
        per_tier: dict[str, int] = {}
        kept = []
        for task in tasks:
            per_tier[task.tier] = per_tier.get(task.tier, 0) + 1
            if per_tier[task.tier] <= sel.limit:
                kept.append(task)
        tasks = kept
    if not tasks:
        raise where.error(("tasks",), "selects no task; check tiers/ids/folder")
    from perpass.tasks.environment import prepare_environments

    try:  # a dependency set that cannot be installed stops the plan here, not mid-run as infra
        prepare_environments(tasks)
    except UserError as err:
        raise where.error(("tasks",), str(err)) from None
    return tasks


def _with(route: Route, key: str, settings: dict[str, Any], keys: tuple[str, ...], where: _Where) -> Route:
    unknown = [k for k in settings if k not in FACTOR_FIELDS]
    if unknown:
        raise where.error(
            keys + (unknown[0],), f"unknown factor '{unknown[0]}'; known: {', '.join(FACTOR_FIELDS)}"
        )
    try:
        changed = apply_factors(route, settings)
    except ValidationError as err:
        first = err.errors()[0]
        field = str(first["loc"][-1]) if first["loc"] else "?"
        factor = next((f for f, (_, name) in FACTOR_FIELDS.items() if name == field and f in settings), field)
        return_keys = keys + (factor,) if factor in settings else keys
        raise where.error(return_keys, f"bad value {settings.get(factor)!r}: {first['msg']}") from None
    if "system_prompt" in settings:
        from perpass.agent.prompts import system_prompt

        try:
            system_prompt(changed.harness.system_prompt)
        except UserError as err:
            raise where.error(keys + ("system_prompt",), str(err).split(": ", 1)[-1]) from None
    return changed


def expand_model(
    key: str, model: ModelPlan, base_route: Route, where: _Where | None = None
) -> list[CellSpec]:
    """Baseline cell + one cell per non-baseline level of each factor + the explicit cells."""
    where = where or _Where(None)
    base = _with(base_route, key, model.baseline, ("models", key, "baseline"), where)
    base = base.model_copy(update={"name": f"{key}/baseline"})
    cells = [CellSpec(key, f"{key}/baseline", base, None, None, {})]
    seen = {base.config_hash(): f"{key}/baseline"}

    def add(cell: CellSpec, keys: tuple[str, ...]) -> None:
        h = cell.config_hash
        if h in seen:
            raise where.error(keys, f"duplicated cell: it has the same config as '{seen[h]}'; remove one")
        seen[h] = cell.label
        cells.append(cell)

    for factor, levels in model.factors.items():
        keys = ("models", key, "factors", factor)
        if factor not in FACTOR_FIELDS:
            raise where.error(keys, f"unknown factor '{factor}'; known: {', '.join(FACTOR_FIELDS)}")
        for i, level in enumerate(levels):
            route = _with(base, key, {factor: level}, ("models", key, "factors"), where)
            if factor_value(route, factor) == factor_value(base, factor):
                continue  # the baseline level: that cell is the baseline itself
            label = f"{key}/{factor}={format_level(level)}"
            add(
                CellSpec(
                    key, label, route.model_copy(update={"name": label}), factor, level, {factor: level}
                ),
                keys + (str(i),),
            )
    for i, explicit in enumerate(model.cells):
        keys = ("models", key, "cells", str(i))
        route = _with(base, key, explicit.set, keys + ("set",), where)
        changed = {f: v for f, v in explicit.set.items() if factor_value(route, f) != factor_value(base, f)}
        if not changed:
            raise where.error(keys, "duplicated cell: it changes nothing from the baseline; remove it")
        if len(changed) > 1 and not explicit.allow_interactions:
            raise where.error(
                keys,
                f"changes {len(changed)} factors at once ({', '.join(changed)}); OFAT "
                "changes one; split it, or add 'allow_interactions: true' to this cell",
            )
        label = explicit.label or f"{key}/" + ",".join(f"{f}={format_level(v)}" for f, v in changed.items())
        label = label if label.startswith(f"{key}/") else f"{key}/{label}"
        only = next(iter(changed)) if len(changed) == 1 else None
        level = changed[only] if only else None
        add(CellSpec(key, label, route.model_copy(update={"name": label}), only, level, changed), keys)
    return cells
