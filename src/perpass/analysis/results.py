"""The analysis result as typed models: what `perpass decide --json` prints and every reader takes.

Cards, the HTML report, the routing file, the LiteLLM config and the CLI read these models, never a
loose dict. `Decision.schema_version` changes whenever a field is renamed or removed (adding an
optional field does not change it); `docs/schemas/decide.schema.json` is generated from `Decision`
(`python -m perpass.analysis.schema > docs/schemas/decide.schema.json`) and a test keeps it in step.

Conventions kept from the JSON the stages exchanged before: an interval is a two-item list
`[low, high]`; an infinite number (no pass) is `null` next to a text that says why.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from perpass.analysis.prices import Overheads, Pricing
from perpass.analysis.stats import finite_or_none

DECISION_SCHEMA_VERSION: Literal[2] = 2  # 1 was the untyped dict of perpass 0.1

Interval = tuple[float | None, float | None]
RateInterval = tuple[float, float]
Ceiling = Literal["turn", "token", "capability"]
Layer = Literal["per_token", "per_call", "per_episode", "per_pass"]


def interval(ci: tuple[float, float] | list[float]) -> Interval:
    """An interval for JSON: infinite ends become null."""
    return (finite_or_none(ci[0]), finite_or_none(ci[1]))


class Result(BaseModel):
    """Base of every result model: unknown fields are refused, so the schema is the whole truth."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict, with the published field names (`from`, not `from_`)."""
        return self.model_dump(mode="json", by_alias=True)


class LayerSummary(Result):
    """The four cost layers of one route (or one route on one tier), with intervals and pass@k."""

    episodes: int = Field(description="valid (not infra) finished episodes")
    passes: int
    infra_episodes: int = Field(description="episodes that ended in an infra stop: never counted")
    tasks: int
    false_dones: int = Field(description="episodes that said done and failed verification")
    calls: int
    tokens: int
    cost_total: float = Field(description="$ of model calls")
    overhead_total: float = Field(description="$ of failure overheads (reviewer time, false-done drag)")
    pass_rate: float | None
    pass_ci: RateInterval | None = Field(description="95 % interval of the pass rate, clustered by task")
    pass_effective_episodes: float = Field(0.0, description="episodes worth of independent evidence (clustering)")
    per_token: float | None = Field(description="$ per 1M tokens at the route's own mix; null: no tokens")
    per_call: float | None
    per_episode: float | None
    per_pass: float | None = Field(description="$ per pass incl. overheads; null: no pass (∞)")
    per_pass_ci: Interval
    per_pass_text: str
    mean_wall_s: float | None
    decode_tok_s: float | None
    pass_at_k: dict[str, float]
    pass_hat_k: dict[str, float]
    interval_note: str | None = Field(None, description="set where the intervals' coverage was not shown to hold")

    def layer(self, name: Layer) -> float | None:
        value: float | None = getattr(self, name)
        return value


class RouteLayers(LayerSummary):
    """One route (a cell: one model with one full config) over all tiers, and per tier."""

    route: str = Field(description="the cell label, e.g. qwen/baseline")
    route_name: str = Field(description="the name of the route in routes.yaml (or a built-in)")
    model_key: str
    kind: str
    model: str
    factor: str | None
    level: Any
    reference: bool = Field(description="a reference (the oracle): shown, never routed to")
    pricing: Pricing
    infra_cost: float
    episode_ids: list[int]
    tiers: dict[str, LayerSummary]


class Inversion(Result):
    """Two routes whose order flips from one cost layer to the next."""

    a: str = Field(description="the route that is cheaper at from_layer")
    b: str
    from_layer: Layer
    to_layer: Layer
    from_: dict[str, float | None] = Field(alias="from")
    to: dict[str, float | None]
    diff_ci_from: Interval
    diff_ci_to: Interval
    shared_tasks: int
    significant: bool
    text: str


class CeilingCheck(Result):
    """Did the OFAT cell that raised this ceiling's limit raise the pass rate?"""

    ceiling: Ceiling
    cell: str
    factor: str | None
    from_: Any = Field(alias="from")
    to: Any
    pass_rate_delta: float
    delta_ci: Interval
    verdict: Literal["helped", "hurt", "no clear change"]
    text: str


class FailingExample(Result):
    episode: int
    ceiling: str
    stop_reason: str
    transcript: str | None


class CeilingCounts(Result):
    turn: int
    token: int
    capability: int


class CeilingShares(Result):
    turn: float
    token: float
    capability: float


class CeilingSummary(Result):
    """Why one route fails: counts and shares per ceiling, advice, and the OFAT check of the advice."""

    failed: int
    counts: CeilingCounts
    shares: CeilingShares
    infra: int
    dominant: Ceiling | None
    advice: list[str]
    checks: list[CeilingCheck]
    failing_examples: list[FailingExample]


class OfatEffect(Result):
    delta: float | None
    ci: Interval
    significant: bool


class OfatCell(Result):
    cell: str
    factor: str | None
    level: Any
    baseline: bool
    pass_rate: float | None
    per_pass: float | None
    decode_tok_s: float | None
    wall_s: float | None
    effects: dict[str, OfatEffect] | None = None


class BestConfig(Result):
    cell: str
    factor: str | None
    level: Any
    changes: dict[str, Any]
    cost_per_pass: float | None
    pass_rate: float | None
    why: str


class ModelOfat(Result):
    """One model's OFAT matrix: every cell against its baseline, and the best config."""

    baseline: str | None
    cells: list[OfatCell]
    best: BestConfig | None


class CascadeChoice(Result):
    """Try `first`; when its work fails verification, send the task to `then`."""

    first: str
    then: str
    cost_per_pass: float
    ci: Interval
    pass_rate: float
    pass_ci: RateInterval
    shared_tasks: int
    beats_primary: bool = Field(
        False, description="cheaper per pass than the tier's primary (true when the tier has none)"
    )


class Candidate(Result):
    """One route as a candidate for a tier."""

    route: str
    pass_rate: float | None
    pass_ci: RateInterval | None
    cost_per_pass: float | None
    ci: Interval
    text: str
    episodes: int
    passes: int
    eligible: bool = Field(description="meets the minimum pass rate with a pass, and is not a reference")
    reference: bool


class Evidence(Result):
    episodes: int
    episode_ids: list[int] = []


class TierDecision(Result):
    """Where to send work of one tier. `primary` is null when no route qualifies (see `reason`)."""

    primary: str | None
    fallback: str | None
    cascade: CascadeChoice | None
    cost_per_pass: float | None
    cost_per_pass_text: str | None = None
    ci: Interval | None
    pass_rate: float | None
    pass_ci: RateInterval | None
    min_pass_rate: float
    reason: str
    blocked_by: Ceiling | None = None
    evidence: Evidence | None = None
    candidates: list[Candidate] = []

    def routed(self) -> list[str]:
        """Every route this tier sends work to: primary, fallback, the cascade's two."""
        names = [self.primary, self.fallback]
        if self.cascade:
            names += [self.cascade.first, self.cascade.then]
        return list(dict.fromkeys(n for n in names if n))


class Decision(Result):
    """The `perpass decide --json` object."""

    schema_version: Literal[2] = DECISION_SCHEMA_VERSION
    store: str
    min_pass_rate: float
    overheads: Overheads
    message: str | None
    tiers: dict[str, TierDecision]
    layers: dict[str, RouteLayers]
    rankings: dict[Layer, list[str]]
    inversions: list[Inversion]
    ceilings: dict[str, CeilingSummary]
    ofat: dict[str, ModelOfat]
    unfinished_episodes: int
