-- OpenID Connect sign-ins under way: the browser went to the provider and
-- has yet to come back. Only a hash of the state is kept; a row is taken
-- (deleted) by the callback that uses it, so a state works once, and rows
-- older than ten minutes are refused and swept.
CREATE TABLE oidc_logins (
    state_hash bytea PRIMARY KEY,
    nonce      text        NOT NULL,
    verifier   text        NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX oidc_logins_created_at ON oidc_logins (created_at);
