-- The API token a user acted with ('' for a session, a runner or the
-- system). Part of the hash as the event's actor.token_id, which is absent
-- from the canonical JSON when empty: rows appended before this migration
-- keep their hashes.
ALTER TABLE audit_log ADD COLUMN actor_token_id text NOT NULL DEFAULT '';
