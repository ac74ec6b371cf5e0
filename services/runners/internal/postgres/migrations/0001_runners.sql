-- Registered runners. Only the SHA-256 of the machine secret is kept.
CREATE TABLE runners (
    id             uuid PRIMARY KEY,
    name           text NOT NULL UNIQUE,
    environment    text NOT NULL CHECK (environment IN ('Development', 'Staging', 'Production')),
    labels         text[] NOT NULL DEFAULT '{}',
    secret_sha256  bytea NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz,
    connected_from text,
    version        text,
    os             text,
    hostname       text
);
