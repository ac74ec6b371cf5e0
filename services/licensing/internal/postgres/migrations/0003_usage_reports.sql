-- Usage reports: online ones wait here (sent_at NULL) until the portal takes
-- them; offline ones are kept so a receipt can be matched to its report.
CREATE TABLE usage_reports (
    report_id            text PRIMARY KEY,
    license_id           text NOT NULL,
    installation_id      uuid NOT NULL,
    mode                 text NOT NULL CHECK (mode IN ('online', 'offline')),
    runner_count         integer NOT NULL,
    version              text NOT NULL,
    at                   timestamptz NOT NULL,
    period_start         timestamptz,
    period_end           timestamptz,
    sent_at              timestamptz,
    receipt_validated_at timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_reports_pending ON usage_reports (at) WHERE mode = 'online' AND sent_at IS NULL;
CREATE INDEX usage_reports_by_license ON usage_reports (license_id, mode, at);
