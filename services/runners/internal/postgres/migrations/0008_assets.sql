-- Assets: named settings and credentials robots need, with one value per
-- scope. Values are sealed (envelope encryption): each value has its own
-- random data key, which is wrapped by a key-encryption key from the asset
-- key file (runners.asset_key_file). The database holds only ciphertext,
-- wrapped data keys and the ids of the key-encryption keys, never a key.

-- assets: name is unique whatever its case (name_key). type never changes.
-- value_version counts every write of a value of the asset (any scope): a
-- value written takes the next number as its version, so a ciphertext once
-- replaced or deleted never matches a version again.
CREATE TABLE assets (
    id            uuid PRIMARY KEY,
    name          text NOT NULL CHECK (name ~ '^[A-Za-z_][A-Za-z0-9_]{0,63}$'),
    name_key      text NOT NULL GENERATED ALWAYS AS (lower(name)) STORED,
    type          text NOT NULL CHECK (type IN ('text', 'integer', 'boolean', 'credential', 'secret')),
    description   text NOT NULL DEFAULT '',
    value_version integer NOT NULL DEFAULT 0 CHECK (value_version >= 0),
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_by    text NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE UNIQUE INDEX assets_name_key_idx ON assets (name_key);

-- asset_values: one sealed value per scope of an asset. scope_key is ''
-- for the global scope, the environment for the environment scope and the
-- runner's id for the runner scope (kept when the runner is deleted).
-- The ciphertext is bound (associated data) to asset_id, scope, scope_key
-- and version: moved to another row it no longer opens. kek_id names the
-- key-encryption key wrapped_key is wrapped under.
CREATE TABLE asset_values (
    asset_id    uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    scope       text NOT NULL CHECK (scope IN ('global', 'environment', 'runner')),
    scope_key   text NOT NULL,
    version     integer NOT NULL CHECK (version > 0),
    kek_id      text NOT NULL,
    wrapped_key bytea NOT NULL,
    ciphertext  bytea NOT NULL,
    updated_by  text NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (asset_id, scope, scope_key),
    CHECK ((scope = 'global' AND scope_key = '')
        OR (scope = 'environment' AND scope_key IN ('Development', 'Staging', 'Production'))
        OR (scope = 'runner' AND scope_key ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'))
);

-- Re-wrapping after a key rotation and the key commands look values up by key.
CREATE INDEX asset_values_kek_idx ON asset_values (kek_id);
-- A runner's values (resolution, the start check).
CREATE INDEX asset_values_scope_idx ON asset_values (scope, scope_key);

-- asset_keys: the ids of the key-encryption keys the service has seen in
-- its key file (never the keys). primary_since is when the key became the
-- primary one (NULL: never was). A key id here with no key file tells a
-- lost key file from a first start.
CREATE TABLE asset_keys (
    id            text PRIMARY KEY,
    first_seen_at timestamptz NOT NULL,
    primary_since timestamptz
);

-- The assets a package version declares in its exekra.json ("assets").
-- NULL or '{}': none.
ALTER TABLE packages ADD COLUMN assets text[];
