"""Cost-per-pass analysis: cost layers, intervals, inversions, ceilings, OFAT effects, decisions.

Reads only the run store (plus optional price overrides) and returns plain JSON-able dicts.
"""

from perpass.analysis.analyze import Analysis, analyze
from perpass.analysis.calc import calc
from perpass.analysis.decide import decision
from perpass.analysis.prices import Overheads, PriceBook, load_price_book

__all__ = ["Analysis", "Overheads", "PriceBook", "analyze", "calc", "decision", "load_price_book"]
