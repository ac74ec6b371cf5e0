-- The commit the runner's agent was built from, as its heartbeats report it
-- (beside version, os and hostname); NULL until a heartbeat carries one.
ALTER TABLE runners ADD COLUMN agent_commit text;
