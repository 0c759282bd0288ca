-- perpass run store, schema version 1 (PRAGMA user_version and meta.schema_version). One SQLite file (WAL) per project folder.
-- Anyone may query it: `sqlite3 perpass-runs/perpass.db`.
-- A "route" in analysis is a cell: one model with one full config. Its display name is cells.label.

CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY,
  plan_path TEXT,
  plan_hash TEXT NOT NULL,
  trusted INTEGER NOT NULL DEFAULT 1,      -- 0 when the plan allowed a single run (N < 3)
  hardware_json TEXT,                      -- what `perpass hw` sees at the start (bandwidth not measured)
  started_at REAL NOT NULL,
  finished_at REAL,
  planned_episodes INTEGER NOT NULL DEFAULT 0,
  repeats INTEGER NOT NULL DEFAULT 3,
  infra_retries INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE IF NOT EXISTS configs (
  config_hash TEXT PRIMARY KEY,            -- Route.config_hash(): everything that can change results
  route_name TEXT NOT NULL,                -- the plan's route this config derives from
  model TEXT NOT NULL,
  kind TEXT NOT NULL,                      -- local | openai | scripted | oracle
  config_json TEXT NOT NULL                -- Route.model_dump_json(): prices included, never a secret
);

CREATE TABLE IF NOT EXISTS tasks (
  content_hash TEXT PRIMARY KEY,           -- hash of task.toml + repo/ + tests/ + solution/
  task_id TEXT NOT NULL,
  tier TEXT NOT NULL,                      -- T0..T3
  path TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS cells (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  model_key TEXT NOT NULL,                 -- the plan's model group (the OFAT matrix it belongs to)
  label TEXT NOT NULL,                     -- e.g. "smollm2/baseline", "smollm2/temperature=0.7"
  config_hash TEXT NOT NULL REFERENCES configs(config_hash),
  factor TEXT,                             -- NULL for the baseline cell
  level_json TEXT,                         -- the factor's level in this cell (JSON)
  changes_json TEXT NOT NULL DEFAULT '{}', -- every key that differs from the baseline
  status TEXT NOT NULL DEFAULT 'pending',  -- pending | running | done | smoke_failed | oom | oom_predicted | stopped_early
  reason TEXT,
  route_name TEXT,                         -- the plan's route the cell derives from
  planned_episodes INTEGER NOT NULL DEFAULT 0,
  position INTEGER NOT NULL DEFAULT 0,     -- order of the cell in the plan
  UNIQUE (run_id, config_hash)
);

CREATE TABLE IF NOT EXISTS episodes (
  id INTEGER PRIMARY KEY,
  cell_id INTEGER NOT NULL REFERENCES cells(id),
  task_hash TEXT NOT NULL REFERENCES tasks(content_hash),
  task_id TEXT NOT NULL,
  tier TEXT NOT NULL,
  repeat INTEGER NOT NULL,                 -- 0..N-1
  status TEXT NOT NULL,                    -- started | finished   (a crash leaves 'started': never counted)
  attempts INTEGER NOT NULL DEFAULT 1,     -- infra re-tries included
  stop_reason TEXT,                        -- agent.types.StopReason
  ceiling TEXT,                            -- turn | token | capability | infra | NULL (passed)
  passed INTEGER,
  submitted INTEGER,
  infra INTEGER,                           -- 1 when the final attempt still ended in an infra stop
  turns INTEGER, calls INTEGER,
  prompt_tokens INTEGER, cached_prompt_tokens INTEGER, completion_tokens INTEGER, reasoning_tokens INTEGER,
  wall_s REAL, model_s REAL,
  verifier_output TEXT, error TEXT, transcript TEXT,
  started_at REAL NOT NULL, finished_at REAL,
  UNIQUE (cell_id, task_hash, repeat)
);

CREATE TABLE IF NOT EXISTS calls (
  id INTEGER PRIMARY KEY,
  episode_id INTEGER NOT NULL REFERENCES episodes(id),
  idx INTEGER NOT NULL,
  prompt_tokens INTEGER, cached_prompt_tokens INTEGER, completion_tokens INTEGER, reasoning_tokens INTEGER,
  latency_s REAL, ttft_s REAL, finish_reason TEXT,
  server_prompt_ms REAL, server_decode_ms REAL, server_prompt_n INTEGER, server_decode_n INTEGER,
  retries INTEGER
);

CREATE TABLE IF NOT EXISTS steps (
  id INTEGER PRIMARY KEY,
  episode_id INTEGER NOT NULL REFERENCES episodes(id),
  idx INTEGER NOT NULL,
  messages_in_json TEXT, reply TEXT, tool_calls_json TEXT, action TEXT, observation TEXT,
  exit_code INTEGER, action_s REAL, harness_s REAL
);

-- The smoke gate of each route, every time a run reaches it.
CREATE TABLE IF NOT EXISTS gates (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  route_name TEXT NOT NULL,
  config_hash TEXT NOT NULL,
  ok INTEGER NOT NULL,
  reason TEXT NOT NULL,
  smoke_json TEXT,                         -- endpoints.smoke.SmokeResult
  episode_json TEXT,                       -- EpisodeResult.summary() of the T0 episode
  at REAL NOT NULL
);

CREATE INDEX IF NOT EXISTS episodes_cell ON episodes(cell_id, status);
CREATE INDEX IF NOT EXISTS calls_episode ON calls(episode_id);
CREATE INDEX IF NOT EXISTS steps_episode ON steps(episode_id);
CREATE INDEX IF NOT EXISTS cells_run ON cells(run_id);
CREATE INDEX IF NOT EXISTS runs_plan ON runs(plan_hash);

-- Adaptive allocation (stats branch; one statement for the migration list): when and why a cell
-- stopped getting episodes on a tier under `allocation: adaptive` (perpass.analysis.allocation).
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
