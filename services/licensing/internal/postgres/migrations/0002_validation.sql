-- The license file exactly as activated, and its last successful validation
-- with the vendor (portal delivery or imported receipt).
ALTER TABLE licenses ADD COLUMN file text NOT NULL DEFAULT '';
ALTER TABLE licenses ADD COLUMN last_validated_at timestamptz;

-- This Hub's identity towards the vendor portal, made once. private_key is
-- the Ed25519 seed that signs offline usage reports; it is kept here for now,
-- so whoever can read the licensing schema can sign usage reports.
CREATE TABLE installation (
    singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    installation_id uuid NOT NULL,
    private_key     bytea NOT NULL CHECK (length(private_key) = 32),
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- The highest time the service has seen, so a clock turned back gains
-- nothing; rollback_since is set while a detected rollback lasts.
CREATE TABLE clock_state (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    highest_seen   timestamptz NOT NULL,
    rollback_since timestamptz
);
INSERT INTO clock_state (highest_seen) VALUES ('1970-01-01T00:00:00Z');
