"""Finding cards: one Markdown and one HTML file per model (cells.model_key).

`card_data` gathers plain JSON-able facts (the single-file HTML report builds on it);
`render_card_md` turns them into Markdown; HTML is the same Markdown rendered, so they never disagree.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
from markdown_it import MarkdownIt

from perpass import files
from perpass.analysis.analyze import Analysis
from perpass.analysis.layers import LAYER_TITLES, LAYERS
from perpass.analysis.money import money
from perpass.analysis.prices import Overheads
from perpass.analysis.results import (
    CeilingSummary,
    Decision,
    Inversion,
    ModelOfat,
    OfatEffect,
    RouteLayers,
    TierDecision,
)
from perpass.analysis.store_data import StoreData
from perpass.report import plots
from perpass.verifier.verdict import Verdict


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "model"


@lru_cache(maxsize=64)
def _store_prefix(store_dir: str, out_dir: str) -> str:
    return os.path.relpath(store_dir, out_dir)


def link_target(transcript: str | None, store_dir: Path, out_dir: Path) -> str | None:
    """Transcript paths are stored relative to the store folder (or absolute): link from the card.

    String work instead of a relpath per link: cards of big stores hold thousands of links."""
    if not transcript:
        return None
    store, out = str(store_dir), str(out_dir)
    prefix = _store_prefix(store, out)
    if not transcript.startswith("/"):
        return f"{prefix}/{transcript}"
    if transcript.startswith(store + "/"):
        return f"{prefix}/{transcript[len(store) + 1 :]}"
    return os.path.relpath(transcript, out)


@dataclass
class Card:
    """What one model's finding card says, read from the analysis and its Decision."""

    model_key: str
    model: str
    kind: str
    facts: dict[str, Any]
    hardware: list[dict[str, Any]]
    cells: list[str]
    tasks: list[tuple[str, str]]  # (tier, task id)
    repeats: int
    layers: dict[str, RouteLayers]
    ofat: ModelOfat | None
    ceilings: dict[str, CeilingSummary]
    inversions: list[Inversion]
    fit_tiers: list[str]
    tiers: dict[str, TierDecision]
    episodes: dict[str, list[CardEpisode]]
    min_pass_rate: float
    overheads: Overheads
    stops: list[dict[str, Any]]  # adaptive allocation: cells of this model stopped early
    verdicts: dict[str, CellVerdicts]  # per cell: why verified episodes failed, and which tests


@dataclass
class CellVerdicts:
    """The verifier's side of one cell: failures by reason (tampered and suspicious count apart from
    failed tests: they are forgery attempts or flagged code, not wrong answers) and per-test outcomes."""

    reasons: dict[str, int]  # verdict reason -> episodes (passed included)
    tests: dict[str, tuple[int, int]]  # hidden test id -> (passed, ran)
    evidence: list[str]  # one line per tampered/suspicious episode: what the verifier saw


@dataclass
class CardEpisode:
    id: int
    task: str
    passed: bool
    infra: bool
    ceiling: str | None
    transcript: str | None


def card_data(an: Analysis, decision: Decision, model_key: str) -> Card:
    d = an.data
    members = [i for i, r in enumerate(d.routes) if r.model_key == model_key]
    labels = [d.routes[i].label for i in members]
    base = next((d.routes[i] for i in members if d.routes[i].is_baseline), d.routes[members[0]])
    repeats = max((int(an.tables[(r, None)].n.max(initial=0)) for r in members), default=0)
    episodes: dict[str, list[CardEpisode]] = {label: [] for label in labels}
    tasks = set()
    for k in np.flatnonzero(np.isin(d.route, members)):
        task = d.task_ids[d.task[k]]
        tasks.add((str(d.tier[k]), task))
        episodes[d.routes[d.route[k]].label].append(
            CardEpisode(int(d.episode_id[k]), task, bool(d.passed[k]), bool(d.infra[k]), d.ceiling[k] or None,
                        d.transcript[k])
        )
    verdicts = {d.routes[r].label: cell_verdicts(d, np.flatnonzero(d.route == r)) for r in members}
    fit = {
        tier
        for tier, t in decision.tiers.items()
        if t.primary in labels or t.fallback in labels or any(c.route in labels and c.eligible for c in t.candidates)
    }
    return Card(
        model_key=model_key,
        model=base.model,
        kind=base.kind,
        facts={
            k: base.config.get(k)
            for k in ("gguf", "base_url", "serving", "harness", "sampling")
            if base.config.get(k) is not None
        },
        hardware=[json.loads(r["hardware_json"]) for r in d.runs if r.get("hardware_json")],
        cells=labels,
        tasks=sorted(tasks),
        repeats=repeats,
        layers={label: decision.layers[label] for label in labels},
        ofat=decision.ofat.get(model_key),
        ceilings={label: decision.ceilings[label] for label in labels},
        inversions=[i for i in decision.inversions if i.a in labels or i.b in labels],
        fit_tiers=sorted(fit),
        tiers=decision.tiers,
        episodes=episodes,
        min_pass_rate=decision.min_pass_rate,
        overheads=decision.overheads,
        stops=[asdict(stop) for stop in an.stops if stop.cell in labels],
        verdicts=verdicts,
    )


FORGERY_REASONS = ("tampered", "suspicious")


def cell_verdicts(d: StoreData, rows: np.ndarray) -> CellVerdicts:
    reasons: dict[str, int] = {}
    tests: dict[str, list[int]] = {}
    evidence: list[str] = []
    for k in rows:
        reason = str(d.verdict_reason[k])
        if not reason:
            continue  # not verified (infra) or from before verdicts were stored
        reasons[reason] = reasons.get(reason, 0) + 1
        raw = d.verdict_json[k]
        if not raw:
            continue
        verdict = Verdict.model_validate_json(raw)
        for test in verdict.tests:
            if test.required:
                seen = tests.setdefault(test.nodeid, [0, 0])
                seen[0] += test.outcome == "passed"
                seen[1] += 1
        if reason in FORGERY_REASONS:
            shown = [e for e in verdict.evidence if e.kind in ("scan", "audit", "tamper") and not e.allowed][:2]
            details = "; ".join(f"{e.where}: {e.detail}" for e in shown) or verdict.detail
            evidence.append(f"episode {int(d.episode_id[k])} ({d.task_ids[d.task[k]]}), {reason}: {details}"[:300])
    return CellVerdicts(reasons, {t: (v[0], v[1]) for t, v in sorted(tests.items())}, evidence)


def verdicts_md(card: Card) -> list[str]:
    """Why the verifier failed episodes, per cell; tampered and suspicious counted apart."""
    if not any(v.reasons for v in card.verdicts.values()):
        return []
    lines = ["", "Verdicts (the verifier's reason per verified episode; docs/verifier.md):", "",
             "| cell | passed | tests failed | tampered | suspicious | other |", "|---|---|---|---|---|---|"]
    for label, v in card.verdicts.items():
        other = {r: n for r, n in v.reasons.items() if r not in ("passed", "tests_failed", *FORGERY_REASONS)}
        other_text = ", ".join(f"{r} {n}" for r, n in sorted(other.items())) or "0"
        lines.append(f"| {label} | {v.reasons.get('passed', 0)} | {v.reasons.get('tests_failed', 0)} | "
                     f"{v.reasons.get('tampered', 0)} | {v.reasons.get('suspicious', 0)} | {other_text} |")
    failing = [(label, test, ok, ran) for label, v in card.verdicts.items()
               for test, (ok, ran) in v.tests.items() if ok < ran]
    if failing:
        lines += ["", "Hidden tests that failed (passed / ran):", ""]
        lines += [f"- {label}: `{test}` {ok}/{ran}" for label, test, ok, ran in failing[:20]]
    flagged = [line for v in card.verdicts.values() for line in v.evidence]
    if flagged:
        lines += ["", "Tampering and flagged code (not counted as passes):", "", *[f"- {e}" for e in flagged[:10]]]
    return lines


def fmt_ci(ci: tuple[float | None, float | None] | None, as_money: bool = False) -> str:
    if not ci:
        return "—"
    lo, hi = ci
    if as_money:
        return f"[{money(lo)}, {money(hi)}]"
    return f"[{lo:.2f}, {hi:.2f}]"


def fmt_layer(layer: str, value: float | None) -> str:
    if value is None:
        return "∞" if layer == "per_pass" else "n/a"
    return f"${value:.3f}" if layer == "per_token" else money(value)


def fmt_delta(effect: OfatEffect | None, as_money: bool = False) -> str:
    if not effect or effect.delta is None:
        return "—"
    delta = effect.delta
    text = f"{'+' if delta >= 0 else '−'}{money(abs(delta))}" if as_money else f"{delta:+.2f}"
    mark = " *" if effect.significant else ""
    return f"{text} {fmt_ci(effect.ci, as_money)}{mark}"


def anchor(label: str) -> str:
    return "episodes-" + slug(label).lower()


def render_card_md(card: Card, plot_files: dict[str, str], store_dir: Path, out_dir: Path) -> str:
    lines: list[str] = [f"# Finding card: {card.model_key}", ""]
    fit = ", ".join(card.fit_tiers) or "none"
    lines += [f"**Verdict:** fit for tiers: **{fit}** (pass-rate lower bound ≥ {card.min_pass_rate}).", ""]
    unknown = [label for label, v in card.layers.items() if v.pricing.kind == "unknown"]
    if unknown:
        lines += [f"**PRICE UNKNOWN** for {', '.join(unknown)}: no prices in routes.yaml or --prices, and the "
                  "price database does not know the model; its costs are shown as n/a, never as $0.", ""]
    if any(v.reference for v in card.layers.values()):
        lines += ["A reference route (it plays each task's solution): shown for comparison, never routed to.", ""]
    for tier, t in card.tiers.items():
        if t.primary in card.cells:
            lines.append(f"- {tier}: **primary** route {t.primary} at {t.cost_per_pass_text or ''} per pass")
        elif t.fallback in card.cells:
            lines.append(f"- {tier}: fallback route {t.fallback}")
    lines += [
        "",
        "## What was tested",
        "",
        f"- model: `{card.model}` ({card.kind}); cells: {len(card.cells)}; "
        f"tasks: {len(card.tasks)}; repeats per task (N): {card.repeats}",
    ]
    for key, value in card.facts.items():
        lines.append(f"- {key}: `{json.dumps(value)}`")
    for hw in card.hardware:
        if hw:
            lines.append(f"- hardware: `{json.dumps(hw)[:300]}`")
    lines.append("- tasks: " + ", ".join(f"{task} ({tier})" for tier, task in card.tasks))
    ov = card.overheads
    lines += [
        f"- overheads: {ov.reviewer_minutes} reviewer min × {money(ov.reviewer_hourly)}/h per failed "
        f"attempt, {money(ov.false_done_drag)} drag per false done, max attempts {ov.max_attempts}",
        "",
    ]
    lines += [
        "## Four cost layers",
        "",
        "| cell | episodes | pass rate [95 %, clustered by task] | "
        + " | ".join(LAYER_TITLES[x] for x in LAYERS)
        + " | per-pass 95 % | infra |",
        "|---|---|---|" + "---|" * len(LAYERS) + "---|---|",
    ]
    for label, v in card.layers.items():
        rate = "—" if v.pass_rate is None else f"{v.pass_rate:.2f} {fmt_ci(v.pass_ci)}"
        cells = " | ".join("unknown" if v.pricing.kind == "unknown" else fmt_layer(x, v.layer(x)) for x in LAYERS)
        lines.append(
            f"| [{label}](#{anchor(label)}) | {v.episodes} | {rate} | {cells} | "
            f"{v.per_pass_text} | {v.infra_episodes} |"
        )
    notes = [
        f"- {label}{'' if tier is None else f' on {tier}'}: {x.interval_note}"
        for label, v in card.layers.items()
        for tier, x in [(None, v), *v.tiers.items()]
        if x.interval_note
    ]
    if notes:
        lines += ["", "Intervals to read with care:", "", *notes]
    lines += ["", *prices_md(card), "", *tiers_md(card), *stops_md(card), *verdicts_md(card)]
    lines += ["", "pass@k / pass^k (baseline and cells):", ""]
    for label, v in card.layers.items():
        ks = ", ".join(f"@{k} {v.pass_at_k[k]:.2f} / ^{k} {v.pass_hat_k[k]:.2f}" for k in v.pass_at_k)
        lines.append(f"- {label}: {ks or '—'}")
    lines += ["", *ofat_md(card), "", *ceilings_md(card, store_dir, out_dir), ""]
    if card.inversions:
        lines += ["## Ranking inversions involving this model", ""]
        lines += [f"- {i.from_layer} → {i.to_layer}: {i.text}" for i in card.inversions]
        lines.append("")
    lines += ["## Plots", ""]
    lines += [f"![{name}]({path})" for name, path in plot_files.items()]
    return "\n".join(lines) + "\n"


def price_source(v: RouteLayers) -> str:
    p = v.pricing
    if p.kind == "local":
        return f"owned hardware, {money(p.hourly)}/h × {'server compute' if p.local_time == 'compute' else 'wall'} time"
    if p.kind in ("free", "unknown"):
        return p.kind
    version = f" {p.version}" if p.version else ""
    note = f" ({p.note})" if p.note else ""
    prices = f"in {p.input} / cached {p.cached_input if p.cached_input is not None else p.input}"
    if p.cache_write is not None:
        prices += f" / cache write {p.cache_write}" + (f" (1 h {p.cache_write_1h})" if p.cache_write_1h else "")
    prices += f" / out {p.output} $ per 1M" + (f", {len(p.tiers)} tier(s)" if p.tiers else "")
    return f"{p.source}{version}{note}: {prices}"


def prices_md(card: Card) -> list[str]:
    """Where each cell's cost comes from, what it is made of, and what to read with care."""
    lines = ["Where the costs come from (every call priced on its own; docs: README, \"where the numbers come from\"):",
             "", "| cell | prices | cost shares | endpoint-reported cost | flags |", "|---|---|---|---|---|"]
    for label, v in card.layers.items():
        b = v.billing
        if b is None:
            continue
        shares = ", ".join(f"{k.replace('_', ' ')} {x:.0%}" for k, x in b.cost_shares.items() if x >= 0.005) or "—"
        reported = "—"
        if b.reported:
            ours = "unknown" if b.reported.ours is None else money(b.reported.ours)
            reported = f"{money(b.reported.theirs)} (ours {ours}, {b.reported.calls} calls)"
            reported += " **more than 1 % apart**" if b.reported.disagree else ""
        flags = []
        if b.cut_short_calls:
            flags.append(f"{b.cut_short_calls} call(s) cut short by a budget, billed for what they used")
        if b.contended_episodes:
            flags.append(f"**{b.contended_episodes} episode(s) measured on a busy host**"
                         + (f", {b.contended_wall_limits} stopped by the wall limit (maybe the machine, not "
                            "the model)" if b.contended_wall_limits else ""))
        lines.append(f"| {label} | {price_source(v)} | {shares} | {reported} | {'; '.join(flags) or '—'} |")
    return lines


def tiers_md(card: Card) -> list[str]:
    lines = [
        "Per tier:",
        "",
        "| cell | tier | episodes | pass rate [95 %, clustered by task] | $ / episode | $ / pass [95 %] |",
        "|---|---|---|---|---|---|",
    ]
    for label, v in card.layers.items():
        for tier, t in v.tiers.items():
            rate = "—" if t.pass_rate is None else f"{t.pass_rate:.2f} {fmt_ci(t.pass_ci)}"
            lines.append(
                f"| {label} | {tier} | {t.episodes} | {rate} | "
                f"{fmt_layer('per_episode', t.per_episode)} | {t.per_pass_text} |"
            )
    return lines


def stops_md(card: Card) -> list[str]:
    """Adaptive allocation: which cells stopped getting episodes early, when (at which N) and why."""
    if not card.stops:
        return []
    lines = ["", "Stopped early by adaptive allocation (their intervals use the episodes they had):", ""]
    for s in card.stops:
        lines.append(f"- {s['cell']} on {s['tier']} at N = {s['repeats']} ({s['episodes']} episodes): "
                     f"{s['kind'].replace('_', ' ')} — {s['reason']}")
    return lines


def ofat_md(card: Card) -> list[str]:
    ofat = card.ofat
    if not ofat:
        return []
    lines = [
        "## OFAT effects (vs baseline, paired over shared tasks; * = 95 % interval excludes 0)",
        "",
        "| cell | factor = level | Δ pass rate | Δ cost per pass | Δ decode tok/s | Δ episode wall s |",
        "|---|---|---|---|---|---|",
    ]
    for row in ofat.cells:
        if row.baseline:
            lines.append(f"| {row.cell} | baseline | — | — | — | — |")
            continue
        e = row.effects or {}
        lines.append(
            f"| {row.cell} | {row.factor} = {json.dumps(row.level)} | "
            f"{fmt_delta(e.get('pass_rate'))} | {fmt_delta(e.get('per_pass'), as_money=True)} | "
            f"{fmt_delta(e.get('decode_tok_s'))} | {fmt_delta(e.get('wall_s'))} |"
        )
    best = ofat.best
    if best:
        rate = "—" if best.pass_rate is None else f"{best.pass_rate:.2f}"
        lines += [
            "",
            f"**Best config:** {best.cell} ({best.why}): pass rate {rate}, "
            f"cost per pass {money(best.cost_per_pass)}; changes: `{json.dumps(best.changes)}`",
        ]
    return lines


def ceilings_md(card: Card, store_dir: Path, out_dir: Path) -> list[str]:
    lines = [
        "## Ceilings: why it fails",
        "",
        "| cell | failed | turn | token | capability | infra (not counted) |",
        "|---|---|---|---|---|---|",
    ]
    for label, c in card.ceilings.items():
        s = c.shares
        lines.append(f"| {label} | {c.failed} | {s.turn:.0%} | {s.token:.0%} | {s.capability:.0%} | {c.infra} |")
    lines.append("")
    for label, c in card.ceilings.items():
        for advice in c.advice:
            lines.append(f"- {label}: {advice}")
        for check in c.checks:
            lines.append(f"  - checked against OFAT cell {check.cell}: {check.text}")
        for ex in c.failing_examples:
            target = link_target(ex.transcript, store_dir, out_dir)
            ref = f"[episode {ex.episode}]({target})" if target else f"episode {ex.episode}"
            lines.append(f"  - example {ex.ceiling} failure ({ex.stop_reason}): {ref}")
    return lines


def episode_mark(e: CardEpisode) -> str:
    return "✓" if e.passed else ("infra" if e.infra else (e.ceiling or "✗"))


def episodes_md(card: Card, store_dir: Path, out_dir: Path) -> list[str]:
    lines = ["## Episodes behind every number", ""]
    for label, eps in card.episodes.items():
        lines += [f'<a id="{anchor(label)}"></a>', "", f"### {label}", ""]
        refs = []
        for e in eps:
            text = f"{e.task} {episode_mark(e)}"
            target = link_target(e.transcript, store_dir, out_dir)
            refs.append(f"[{e.id}]({target}) {text}" if target else f"{e.id} {text}")
        lines.append("; ".join(refs) or "(none)")
        lines.append("")
    return lines


HTML_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; }}
table {{ border-collapse: collapse; margin: 0.5em 0; }}
td, th {{ border: 1px solid #ccd; padding: 2px 6px; font-size: 13px; }}
th {{ background: #f1f3f6; }} img {{ max-width: 100%; }} code {{ font-size: 12px; }}
</style></head><body>
{body}
</body></html>
"""


def episodes_html(card: Card, store_dir: Path, out_dir: Path) -> str:
    """The episode list written directly: thousands of links are slow through a Markdown parser."""
    parts = ["<h2>Episodes behind every number</h2>"]
    for label, eps in card.episodes.items():
        parts.append(f'<h3 id="{anchor(label)}">{escape(label)}</h3><p>')
        refs = []
        for e in eps:
            target = link_target(e.transcript, store_dir, out_dir)
            text = f"{e.id} {escape(e.task)} {episode_mark(e)}"
            refs.append(f'<a href="{escape(target)}">{text}</a>' if target else text)
        parts.append("; ".join(refs) + "</p>")
    return "\n".join(parts)


def render_card_html(markdown: str, title: str, extra_html: str = "") -> str:
    body = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    return HTML_PAGE.format(title=escape(title), body=body + extra_html)


def write_cards(an: Analysis, decision: Decision, out_dir: Path, plot_format: str = "png") -> dict[str, Path]:
    """One .md and one .html (plus two plots) per model; returns {name: path}."""
    files.output_folder(out_dir)
    store_dir = an.data.path.parent
    written: dict[str, Path] = {}
    for model_key in sorted({r.model_key for r in an.data.routes}):
        card = card_data(an, decision, model_key)
        name = slug(model_key)
        scatter = plots.pass_vs_cost(decision.layers, model_key, out_dir / f"{name}-pass-vs-cost.{plot_format}")
        bars = plots.cost_by_layer(decision.layers, card.cells, out_dir / f"{name}-cost-by-layer.{plot_format}")
        plot_files = {"pass rate vs cost per pass": scatter.name, "cost by layer": bars.name}
        md = render_card_md(card, plot_files, store_dir, out_dir)
        episodes = "\n".join(episodes_md(card, store_dir, out_dir))
        files.write_text(out_dir / f"{name}.md", md + "\n" + episodes + "\n")
        files.write_text(
            out_dir / f"{name}.html",
            render_card_html(md, f"perpass card: {model_key}", episodes_html(card, store_dir, out_dir)),
        )
        written[f"{name}.md"] = out_dir / f"{name}.md"
        written[f"{name}.html"] = out_dir / f"{name}.html"
    return written
