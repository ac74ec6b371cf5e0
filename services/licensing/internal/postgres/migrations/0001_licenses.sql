-- Activated licenses; the newest active one governs the Hub.
CREATE TABLE licenses (
    id           uuid PRIMARY KEY,
    license_id   text NOT NULL,
    document     jsonb NOT NULL,
    signature    text NOT NULL,
    activated_at timestamptz NOT NULL DEFAULT now(),
    active       boolean NOT NULL DEFAULT true
);
CREATE UNIQUE INDEX licenses_one_active ON licenses (active) WHERE active;
