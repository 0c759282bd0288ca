"""Re-price a finished store without re-running it: every call billed again from its stored usage
under another price table (or the database's prices on another date), every layer, ranking and
decision recomputed beside the ones under the prices the store was analysed with. Read-only."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from perpass.analysis.analyze import analyze
from perpass.analysis.decide import decision as make_decision
from perpass.analysis.prices import PriceBook, Pricing
from perpass.analysis.results import Decision, Result


class RepricedRoute(Result):
    per_pass_before: float | None = Field(description="$ per pass under the store's own prices (null: ∞/unknown)")
    per_pass_after: float | None
    per_episode_before: float | None
    per_episode_after: float | None
    pricing_before: Pricing
    pricing_after: Pricing


class Repricing(Result):
    at: str | None = Field(description="database prices as on this date (null: today)")
    prices: str = Field(description="where the new prices came from: a prices file, a routes file, or the store")
    routes: dict[str, RepricedRoute]
    ranking_before: list[str] = Field(description="routes by $ per pass under the store's own prices")
    ranking_after: list[str]
    ranking_changed: bool
    decision: Decision = Field(description="the decision under the new prices")


def reprice(store: Path, book: PriceBook, n_boot: int, seed: int = 0) -> Repricing:
    book.reread_usage = True
    before = analyze(store, PriceBook(overheads=book.overheads, min_pass_rate=book.min_pass_rate), n_boot, seed)
    # `after` reads every call's usage again from what its endpoint sent, with today's readers
    after = analyze(store, book, n_boot, seed)
    decided_before, decided_after = make_decision(before), make_decision(after)
    routes = {
        label: RepricedRoute(
            per_pass_before=v.per_pass, per_pass_after=after.layers[label].per_pass,
            per_episode_before=v.per_episode, per_episode_after=after.layers[label].per_episode,
            pricing_before=v.pricing, pricing_after=after.layers[label].pricing,
        )
        for label, v in before.layers.items()
    }
    ranking_before = decided_before.rankings.get("per_pass", [])
    ranking_after = decided_after.rankings.get("per_pass", [])
    return Repricing(
        at=book.at.date().isoformat() if book.at else None, prices=book.source, routes=routes,
        ranking_before=ranking_before, ranking_after=ranking_after,
        ranking_changed=ranking_before != ranking_after, decision=decided_after,
    )
