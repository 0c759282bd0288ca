-- Bill every call from what the provider sent (issue #13): cache writes (all, and the 1-hour part),
-- the raw usage object as sent (re-read and re-priced later), the cost the endpoint itself reported
-- (OpenRouter usage.cost, LiteLLM x-litellm-response-cost), the server's own compute seconds, and
-- whether a budget cut the call short (then its counts are what it had consumed).
ALTER TABLE calls ADD COLUMN cache_write_tokens INTEGER;
ALTER TABLE calls ADD COLUMN cache_write_1h_tokens INTEGER;
ALTER TABLE calls ADD COLUMN raw_usage_json TEXT;
ALTER TABLE calls ADD COLUMN usage_shape TEXT;
ALTER TABLE calls ADD COLUMN provider_cost REAL;
ALTER TABLE calls ADD COLUMN compute_s REAL;
ALTER TABLE calls ADD COLUMN aborted INTEGER;
-- The host's 1-minute load average (the higher of the episode's start and end) and its core count:
-- an episode measured on a busy machine is flagged, not silently counted.
ALTER TABLE episodes ADD COLUMN host_load REAL;
ALTER TABLE episodes ADD COLUMN host_cpus INTEGER;
