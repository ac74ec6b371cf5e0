-- Credential versions order every change of a machine secret (and the
-- deletion) so that the Redis credential cache never takes an old one back;
-- metrics arrive with heartbeats, written in batches; names are unique in
-- any case; a secret hash is exactly one SHA-256.
ALTER TABLE runners
    ADD COLUMN credential_version bigint NOT NULL DEFAULT 1,
    ADD COLUMN cpu_percent        double precision,
    ADD COLUMN memory_percent     double precision,
    ADD COLUMN disk_free_bytes    bigint,
    ADD CONSTRAINT runners_secret_sha256_length CHECK (octet_length(secret_sha256) = 32);

CREATE UNIQUE INDEX runners_name_lower_key ON runners (lower(name));
