-- The AUDIT stream sequence each event was taken from, so that verification
-- can hold the log's end against what the audit service consumed from the
-- stream: deleting the newest rows leaves a valid chain, but not a log that
-- reaches the consumer's position. Outside the hash (the chain's format is
-- unchanged); NULL on rows appended before this migration, which stay valid.
ALTER TABLE audit_log ADD COLUMN stream_seq bigint CHECK (stream_seq > 0);
CREATE INDEX audit_log_stream_seq ON audit_log (stream_seq) WHERE stream_seq IS NOT NULL;
