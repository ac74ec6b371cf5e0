-- Users of the Hub. Emails are unique regardless of case.
CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    name          text NOT NULL,
    role          text NOT NULL DEFAULT 'OPERATOR' CHECK (role IN ('ADMIN', 'DEVELOPER', 'OPERATOR')),
    password_hash text NOT NULL,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));
