-- Where a user's identity comes from: a local password, the directory (LDAP
-- or Active Directory), an OpenID Connect provider, or a service account
-- (API tokens only). external_id is the directory's DN or the provider's
-- subject; unique per source. Users that do not sign in with a local
-- password keep an empty password_hash, which no password matches.
ALTER TABLE users
    ADD COLUMN source text NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'directory', 'oidc', 'service')),
    ADD COLUMN external_id text,
    ADD COLUMN checked_at timestamptz;
CREATE UNIQUE INDEX users_source_external_id ON users (source, external_id) WHERE external_id IS NOT NULL;
