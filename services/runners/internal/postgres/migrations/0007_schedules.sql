-- Schedules: jobs that start themselves. A job started by a schedule names
-- it (schedule_id; no foreign key, the job outlives its schedule) and the
-- fire time it is for (scheduled_for; NULL for a run now).
ALTER TABLE jobs ADD COLUMN schedule_id uuid,
                 ADD COLUMN scheduled_for timestamptz;

CREATE INDEX jobs_schedule_idx ON jobs (schedule_id, created_at DESC) WHERE schedule_id IS NOT NULL;

-- calendars: non-working days. A fire time whose date in time_zone is one
-- of dates is skipped by every schedule using the calendar. Names are
-- unique whatever their case.
CREATE TABLE calendars (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description text NOT NULL DEFAULT '',
    time_zone   text NOT NULL,
    dates       date[] NOT NULL DEFAULT '{}',
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE UNIQUE INDEX calendars_name_idx ON calendars (lower(name));

-- schedules: a job spec and when to start it. package_version '' follows
-- the newest version at each fire. Exactly one of cron and
-- interval_seconds is set. next_fire_at is the next fire time the service
-- owes, NULL unless active; last_job_id the job of its latest fire (the
-- concurrency policy looks at it).
CREATE TABLE schedules (
    id               uuid PRIMARY KEY,
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description      text NOT NULL DEFAULT '',
    package_name     text NOT NULL,
    package_version  text NOT NULL DEFAULT '',
    environment      text NOT NULL CHECK (environment IN ('Development', 'Staging', 'Production')),
    target_runner_id uuid,
    labels           text[] NOT NULL DEFAULT '{}',
    parameters       jsonb NOT NULL DEFAULT '{}',
    max_attempts     integer NOT NULL CHECK (max_attempts > 0),
    timeout_seconds  integer NOT NULL CHECK (timeout_seconds > 0),
    cron             text NOT NULL DEFAULT '',
    interval_seconds integer NOT NULL DEFAULT 0 CHECK (interval_seconds >= 0),
    time_zone        text NOT NULL,
    start_at         timestamptz,
    end_at           timestamptz,
    concurrency      text NOT NULL CHECK (concurrency IN ('skip', 'queue', 'allow')),
    misfire          text NOT NULL CHECK (misfire IN ('fire_once', 'skip')),
    state            text NOT NULL CHECK (state IN ('active', 'paused', 'ended')),
    next_fire_at     timestamptz,
    last_job_id      uuid,
    created_by       text NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CHECK ((cron = '') <> (interval_seconds = 0)),
    CHECK (state = 'active' OR next_fire_at IS NULL),
    CHECK (start_at IS NULL OR end_at IS NULL OR start_at < end_at)
);

CREATE UNIQUE INDEX schedules_name_idx ON schedules (lower(name));
-- The fire loop's question: which active schedules are due.
CREATE INDEX schedules_due_idx ON schedules (next_fire_at) WHERE state = 'active';

-- schedule_calendars: the calendars a schedule honours. A calendar in use
-- cannot be deleted (RESTRICT); a schedule's links go with it.
CREATE TABLE schedule_calendars (
    schedule_id uuid NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    calendar_id uuid NOT NULL REFERENCES calendars (id) ON DELETE RESTRICT,
    position    integer NOT NULL,
    PRIMARY KEY (schedule_id, calendar_id)
);

CREATE INDEX schedule_calendars_calendar_idx ON schedule_calendars (calendar_id);

-- schedule_fires: what each fire time (kind scheduled) and each run now
-- (kind manual) of a schedule came to. The primary key makes a fire time
-- fire once, whichever instance of the service gets to it. A pending fire
-- is being turned into a job by the instance holding it until lease_until;
-- after that another takes it over (the job's idempotency key, derived from
-- the schedule and fire time, makes it one job).
CREATE TABLE schedule_fires (
    schedule_id uuid NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    fire_time   timestamptz NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('scheduled', 'manual')),
    outcome     text NOT NULL CHECK (outcome IN ('pending', 'job_created', 'skipped_calendar', 'skipped_concurrency',
                    'queued', 'missed', 'failed')),
    reason      text NOT NULL DEFAULT '',
    job_id      uuid,
    recorded_at timestamptz NOT NULL,
    lease_until timestamptz,
    PRIMARY KEY (schedule_id, fire_time),
    CHECK (outcome <> 'pending' OR lease_until IS NOT NULL),
    CHECK (outcome <> 'job_created' OR job_id IS NOT NULL)
);

CREATE INDEX schedule_fires_time_idx ON schedule_fires (fire_time DESC, schedule_id DESC);
CREATE INDEX schedule_fires_pending_idx ON schedule_fires (lease_until) WHERE outcome = 'pending';
CREATE INDEX schedule_fires_queued_idx ON schedule_fires (schedule_id, fire_time) WHERE outcome = 'queued';
