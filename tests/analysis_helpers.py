"""Shared by the analysis tests: what every tier of a decision must say, and prices with free failures."""

from __future__ import annotations

from perpass.analysis.prices import Overheads

# The keys `perpass decide --json` promises for every tier.
TIER_KEYS = {"primary", "fallback", "cascade", "cost_per_pass", "ci", "pass_rate", "pass_ci", "reason"}

# Failed attempts cost their tokens only: no reviewer time, no false-done drag.
FREE_FAILS = Overheads(reviewer_minutes=0, false_done_drag=0)
