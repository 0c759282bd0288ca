-- The verifier's verdict (perpass.verifier.Verdict): why an episode failed (tests_failed, tampered,
-- suspicious, oversized, ...) and, as JSON, its method, per-test outcomes, missing tests and evidence.
ALTER TABLE episodes ADD COLUMN verdict_reason TEXT;
ALTER TABLE episodes ADD COLUMN verdict_json TEXT;
