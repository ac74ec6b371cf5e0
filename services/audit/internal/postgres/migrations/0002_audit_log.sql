-- The authoritative, append-only, hash-chained audit log.
-- seq is gap-free and assigned by the single chain writer (advisory lock);
-- hash = SHA-256(prev_hash || canonical JSON of the event), hex.
CREATE TABLE audit_log (
    seq         bigint PRIMARY KEY CHECK (seq > 0),
    event_id    uuid NOT NULL UNIQUE,
    at          timestamptz NOT NULL,
    actor_type  text NOT NULL,
    actor_id    text NOT NULL,
    actor_email text NOT NULL,
    actor_name  text NOT NULL,
    actor_role  text NOT NULL,
    action      text NOT NULL,
    target_type text NOT NULL,
    target_id   text NOT NULL,
    outcome     text NOT NULL,
    reason      text NOT NULL,
    source_ip   text NOT NULL,
    request_id  text NOT NULL,
    service     text NOT NULL,
    version     text NOT NULL,
    details     jsonb NOT NULL,
    prev_hash   text NOT NULL,
    hash        text NOT NULL
);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_actor_id ON audit_log (actor_id, seq);
CREATE INDEX audit_log_actor_email ON audit_log (lower(actor_email), seq);
CREATE INDEX audit_log_target ON audit_log (target_id, seq);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Signed statements that the log held seq with hash at a time.
CREATE TABLE checkpoints (
    seq        bigint PRIMARY KEY,
    hash       text NOT NULL,
    at         timestamptz NOT NULL,
    public_key text NOT NULL,
    signature  text NOT NULL
);

-- The role the service works as: it may only read and append. It owns nothing,
-- so it can neither disable the triggers nor drop or alter the table, and it is
-- no superuser, so it cannot change session_replication_role.
-- Where a DBA made the role beforehand and granted it to the service's login
-- role (deploy/enterprise), neither is done again: that login role needs no
-- CREATEROLE and no ADMIN OPTION. (Edited after landing: the same effect where
-- it already ran; before, a login role without CREATEROLE could not run it.)
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'exekra_audit_writer') THEN
        CREATE ROLE exekra_audit_writer NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
GRANT USAGE ON SCHEMA audit TO exekra_audit_writer;
GRANT SELECT, INSERT ON audit_log, checkpoints TO exekra_audit_writer;
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_auth_members m
                   JOIN pg_roles r ON r.oid = m.roleid AND r.rolname = 'exekra_audit_writer'
                   JOIN pg_roles u ON u.oid = m.member AND u.rolname = CURRENT_USER) THEN
        GRANT exekra_audit_writer TO CURRENT_USER;
    END IF;
END $$;
