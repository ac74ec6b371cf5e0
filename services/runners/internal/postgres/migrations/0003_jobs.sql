-- Packages, as far as jobs need them: the package storage work fills this
-- table (rows are immutable once published).
CREATE TABLE packages (
    name         text NOT NULL,
    version      text NOT NULL,
    sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes   bigint NOT NULL CHECK (size_bytes >= 0),
    published_by text NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version)
);

-- Jobs: the record. Redis only carries dispatch. attempt is the fencing
-- number of the current (or next) claim; runner_id the runner holding it.
CREATE TABLE jobs (
    id               uuid PRIMARY KEY,
    package_name     text NOT NULL,
    package_version  text NOT NULL,
    package_sha256   text NOT NULL,
    package_size     bigint NOT NULL,
    environment      text NOT NULL CHECK (environment IN ('Development', 'Staging', 'Production')),
    target_runner_id uuid,
    labels           text[] NOT NULL DEFAULT '{}',
    parameters       jsonb NOT NULL DEFAULT '{}',
    timeout_seconds  integer NOT NULL CHECK (timeout_seconds > 0),
    max_attempts     integer NOT NULL CHECK (max_attempts > 0),
    status           text NOT NULL CHECK (status IN ('pending', 'claimed', 'running', 'succeeded', 'failed', 'canceled')),
    attempt          integer NOT NULL DEFAULT 1,
    runner_id        uuid,
    lease_expires_at timestamptz,
    cancel_requested boolean NOT NULL DEFAULT false,
    created_by       text NOT NULL,
    created_at       timestamptz NOT NULL,
    claimed_at       timestamptz,
    started_at       timestamptz,
    finished_at      timestamptz,
    exit_code        integer,
    error            text,
    log_seq          bigint NOT NULL DEFAULT 0,
    log_bytes        bigint NOT NULL DEFAULT 0,
    log_truncated    boolean NOT NULL DEFAULT false
);

CREATE INDEX jobs_pending_idx ON jobs (environment, created_at) WHERE status = 'pending';
CREATE INDEX jobs_leased_idx ON jobs (lease_expires_at) WHERE status IN ('claimed', 'running');
CREATE INDEX jobs_created_idx ON jobs (created_at DESC, id DESC);
CREATE INDEX jobs_runner_idx ON jobs (runner_id) WHERE runner_id IS NOT NULL;

-- Log lines in order; seq starts at 1 per job, without gaps.
CREATE TABLE job_logs (
    job_id  uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq     bigint NOT NULL,
    ts      timestamptz NOT NULL,
    stream  text NOT NULL,
    message text NOT NULL,
    PRIMARY KEY (job_id, seq)
);
