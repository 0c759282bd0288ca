-- External agents (harness.agent, docs/agents.md): which agent ran the episode, and its own
-- stdout/stderr (head and tail kept), for the report's episode browser beside the gateway's steps.
ALTER TABLE episodes ADD COLUMN agent TEXT;
ALTER TABLE episodes ADD COLUMN agent_log TEXT;
