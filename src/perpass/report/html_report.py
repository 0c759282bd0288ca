"""The single-file HTML report: decision, cost layers, Pareto plot, OFAT, ceilings, cards, episodes.

Everything is inline (data as JSON, our own CSS and JS, plots drawn as SVG in the page): the
file opens from disk with no network. Why no plotting library: see docs/report.md.
"""

from __future__ import annotations

import json
import time
from importlib import resources
from pathlib import Path
from typing import Any

from perpass import files
from perpass.analysis.analyze import Analysis, analyze
from perpass.analysis.decide import decision as make_decision
from perpass.analysis.layers import LAYER_TITLES, LAYERS
from perpass.analysis.prices import PriceBook
from perpass.analysis.results import Decision
from perpass.report.cards import card_data
from perpass.report.html_episodes import EpisodeData, config_name, episode_data

LAYER_KEYS = ("episodes", "passes", "infra_episodes", "tasks", "false_dones", "calls", "tokens", "cost_total",
              "overhead_total", "pass_rate", "pass_ci", *LAYERS, "per_pass_ci", "per_pass_text",
              "mean_wall_s", "decode_tok_s", "pass_at_k", "pass_hat_k", "model_key", "kind", "model",
              "factor", "level", "pricing", "reference", "route_name", "interval_note")


def asset(name: str) -> str:
    return resources.files("perpass.report").joinpath("assets", name).read_text(encoding="utf-8")


def script_json(data: Any) -> str:
    """JSON that is safe inside <script>: no '</script>' or '<!--' can close or confuse the tag."""
    text = json.dumps(data, separators=(",", ":"), default=str, allow_nan=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def clean(value: Any) -> Any:
    """NaN and infinities become None: JSON has no such numbers, and the page shows ∞ from None."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def card_summary(an: Analysis, decision: Decision, model_key: str) -> dict[str, Any]:
    """What a finding card says, trimmed for the page (the episode list lives in the browser)."""
    card = card_data(an, decision, model_key)
    roles = []
    for tier, t in decision.tiers.items():
        if t.primary in card.cells:
            roles.append({"tier": tier, "role": "primary", "route": t.primary, "text": t.cost_per_pass_text or ""})
        elif t.fallback in card.cells:
            roles.append({"tier": tier, "role": "fallback", "route": t.fallback, "text": ""})
    best = card.ofat.best if card.ofat else None
    return {"model_key": model_key, "model": card.model, "kind": card.kind, "facts": card.facts,
            "cells": card.cells, "tasks": [{"tier": tier, "task": task} for tier, task in card.tasks],
            "repeats": card.repeats, "fit_tiers": card.fit_tiers, "roles": roles,
            "reference": any(v.reference for v in card.layers.values()),
            "best": best.to_json() if best else None,
            "inversions": [i.text for i in card.inversions],
            "advice": {label: c.advice for label, c in card.ceilings.items()},
            "stops": card.stops,
            "hardware": [h for h in card.hardware if h][:1]}


def route_info(an: Analysis) -> list[dict[str, Any]]:
    return [{"label": r.label, "model_key": r.model_key, "model": r.model, "kind": r.kind,
             "config": config_name(r.factor, r.level), "changes": r.changes,
             "pricing": an.pricings[i].describe().model_dump(mode="json")} for i, r in enumerate(an.data.routes)]


def report_data(an: Analysis, decision: Decision, episodes: EpisodeData) -> dict[str, Any]:
    """Everything the page shows except transcripts, as one JSON-able dict (from the typed Decision)."""
    d = an.data
    full = decision.to_json()
    def pick(layer: dict[str, Any]) -> dict[str, Any]:
        return {k: layer[k] for k in LAYER_KEYS if k in layer}

    layers = {label: pick(v) | {"tiers": {t: pick(x) for t, x in v["tiers"].items()}}
              for label, v in full["layers"].items()}
    ceilings = {label: {k: v for k, v in c.items() if k != "failing_examples"}
                | {"examples": [e["episode"] for e in c["failing_examples"]]}
                for label, c in full["ceilings"].items()}
    data: dict[str, Any] = clean({
        "meta": {"store": str(d.path), "generated_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                 "episodes": d.n, "unfinished": d.unfinished, "routes": len(d.routes),
                 "tasks": len(d.task_ids),
                 "min_pass_rate": decision.min_pass_rate, "overheads": full["overheads"],
                 "message": decision.message, "runs": len(d.runs),
                 "untrusted_runs": sum(1 for r in d.runs if not r.get("trusted", 1)),
                 "layer_titles": LAYER_TITLES, "layers": list(LAYERS)},
        "tiers": full["tiers"], "layers": layers, "rankings": full["rankings"],
        "inversions": full["inversions"], "ceilings": ceilings, "ofat": full["ofat"],
        "cards": [card_summary(an, decision, m) for m in sorted({r.model_key for r in d.routes})],
        "routes": route_info(an), "episodes": episodes.rows,
    })
    return data


def render_html(data: dict[str, Any], transcripts: dict[str, str]) -> str:
    page = asset("report.html")
    title = f"perpass report — {Path(data['meta']['store']).parent.name or 'store'}"
    # Replaced in one pass per marker, data last: a marker inside the data is never re-expanded.
    # format.js comes first: report.js formats money with it (the rules of perpass.analysis.money).
    for marker, value in (("/*CSS*/", asset("report.css")), ("/*JS*/", asset("format.js") + asset("report.js")),
                          ("{{TITLE}}", title.replace("<", "&lt;"))):
        page = page.replace(marker, value, 1)
    head, _, tail = page.partition("/*DATA*/")
    head2, _, tail2 = tail.partition("/*TRANSCRIPTS*/")
    return head + script_json(data) + head2 + script_json(transcripts) + tail2


def build_report(store_path: Path, prices: Path | PriceBook | None = None, *, analysis: Analysis | None = None,
                 decision: Decision | None = None) -> str:
    """The page's HTML. Pass `analysis` (and its `decision`) when the caller already has them, as
    `perpass demo` does after write_outputs: the store is then not analysed a second time."""
    an = analysis if analysis is not None else analyze(Path(store_path), prices)
    if decision is None:
        decision = make_decision(an)
    episodes = episode_data(an)
    return render_html(report_data(an, decision, episodes), episodes.transcripts)


def write_report(store_path: Path, out: Path, prices: Path | PriceBook | None = None, *,
                 analysis: Analysis | None = None, decision: Decision | None = None) -> Path:
    """Write the report to `out` (atomically: a reader never sees half a file); returns its path.

    `analysis`/`decision`: an already computed `analyze(store_path, prices)` and its decision
    (then `prices` is not read again)."""
    html = build_report(store_path, prices, analysis=analysis, decision=decision)
    return files.write_text(Path(out), html)
