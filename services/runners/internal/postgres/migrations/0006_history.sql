-- History the console shows: every attempt of a job, the job a job re-runs,
-- a runner's metrics by the minute and the runners online by the minute.
-- Bounds: runner_metrics keeps 24 hours (one row per runner per minute),
-- runner_counts 48 hours (one row per environment per minute); the runners
-- service prunes older rows every minute. job_attempts lives as long as its job.

-- job_attempts: one row per claim of a job. number is the job's fencing
-- attempt number at the claim (the first claim is always 1); runner_name is
-- the runner's name at the claim (kept when the runner is deleted).
-- started_at is the claim, running_at the runner's first word about the
-- job, ended_at the end of the attempt (NULL while it goes on).
CREATE TABLE job_attempts (
    job_id      uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    number      integer NOT NULL CHECK (number > 0),
    runner_id   uuid NOT NULL,
    runner_name text NOT NULL,
    started_at  timestamptz NOT NULL,
    running_at  timestamptz,
    ended_at    timestamptz,
    outcome     text NOT NULL DEFAULT 'running' CHECK (outcome IN ('running', 'succeeded', 'failed', 'canceled',
                    'timed_out', 'lease_expired', 'runner_lost', 'not_started')),
    reason      text NOT NULL DEFAULT '',
    PRIMARY KEY (job_id, number)
);

-- The dashboard's pickup latency reads first claims by time.
CREATE INDEX job_attempts_first_idx ON job_attempts (started_at) WHERE number = 1;

-- rerun_of: the job a re-run copies (no foreign key: jobs are never deleted
-- one by one, and a re-run must not block anything).
ALTER TABLE jobs ADD COLUMN rerun_of uuid;

-- The dashboard's jobs finished per hour.
CREATE INDEX jobs_finished_idx ON jobs (finished_at) WHERE finished_at IS NOT NULL;

-- runner_metrics: a runner's heartbeat metrics summed up per minute (minute
-- is its start): sums to average, maxima, the least free disk.
CREATE TABLE runner_metrics (
    runner_id      uuid NOT NULL,
    minute         timestamptz NOT NULL,
    samples        integer NOT NULL CHECK (samples > 0),
    cpu_sum        double precision NOT NULL,
    cpu_max        double precision NOT NULL,
    memory_sum     double precision NOT NULL,
    memory_max     double precision NOT NULL,
    disk_free_min  bigint NOT NULL,
    PRIMARY KEY (runner_id, minute)
);

CREATE INDEX runner_metrics_minute_idx ON runner_metrics (minute);

-- runner_counts: runners online (idle or busy) by environment, sampled once
-- a minute by whichever instance of the service comes first (ON CONFLICT on
-- the minute: one writer).
CREATE TABLE runner_counts (
    minute      timestamptz NOT NULL,
    environment text NOT NULL CHECK (environment IN ('Development', 'Staging', 'Production')),
    online      integer NOT NULL CHECK (online >= 0),
    PRIMARY KEY (minute, environment)
);
