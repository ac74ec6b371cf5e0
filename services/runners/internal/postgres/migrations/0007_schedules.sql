-- Schedules: jobs that start themselves. A job started by a schedule names
-- it (schedule_id; no foreign key, the job outlives its schedule) and the
-- fire time it is for (scheduled_for; NULL for a run now).
ALTER TABLE jobs ADD COLUMN schedule_id uuid,
                 ADD COLUMN scheduled_for timestamptz;

CREATE INDEX jobs_schedule_idx ON jobs (schedule_id, created_at DESC) WHERE schedule_id IS NOT NULL;
