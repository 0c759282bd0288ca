"""Everything `perpass demo` (and anyone else) needs written in one call."""

from __future__ import annotations

import json
from pathlib import Path

from perpass import files
from perpass.analysis.analyze import Analysis, analyze
from perpass.analysis.decide import decision as make_decision
from perpass.analysis.prices import PriceBook
from perpass.analysis.results import Decision
from perpass.report.cards import write_cards
from perpass.report.litellm import write_litellm
from perpass.report.routing import write_routing


def write_outputs(
    store_path: Path,
    out_dir: Path,
    prices: Path | PriceBook | None = None,
    *,
    analysis: Analysis | None = None,
    decision: Decision | None = None,
    routes_file: Path | None = None,
) -> dict[str, Path]:
    """Cards (md/html/plots) under out_dir/cards, decision.json, routing.yaml, litellm.yaml.

    Pass `analysis` (an `analyze(store_path, prices)` already computed) and its `decision` to write
    them without reading and bootstrapping the store again, as for the HTML report's `write_report`."""
    an = analysis if analysis is not None else analyze(Path(store_path), prices)
    if decision is None:
        decision = make_decision(an)
    files.output_folder(out_dir)
    paths: dict[str, Path] = {}
    cards = write_cards(an, decision, out_dir / "cards")
    paths.update({f"card:{name}": path for name, path in cards.items()})
    paths["decision"] = files.write_text(out_dir / "decision.json", json.dumps(decision.to_json(), indent=2) + "\n")
    paths["routing"] = write_routing(an, decision, out_dir / "routing.yaml", routes_file)
    paths["litellm"] = write_litellm(an, decision, out_dir / "litellm.yaml")
    return paths
