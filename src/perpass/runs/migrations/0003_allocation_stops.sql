-- Adaptive allocation: when and why a cell stopped getting episodes on a tier under
-- `allocation: adaptive` (perpass.analysis.allocation).
CREATE TABLE IF NOT EXISTS allocation_stops (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  cell_id INTEGER NOT NULL REFERENCES cells(id),
  tier TEXT NOT NULL,
  repeats INTEGER NOT NULL,                -- N per task when it stopped: the look that stopped it
  episodes INTEGER NOT NULL,               -- its valid episodes on the tier at that look
  kind TEXT NOT NULL,                      -- cannot_reach_min_pass_rate | dearer_than_eligible_cell | tier_decided
  reason TEXT NOT NULL,
  at REAL NOT NULL,
  UNIQUE (run_id, cell_id, tier)
);
