-- The audit schema. The append-only log itself arrives with the audit capability.
COMMENT ON SCHEMA audit IS 'Exekra Hub audit log: append-only, hash-chained';
