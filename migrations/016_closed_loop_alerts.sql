-- Alerts of overdue closed-loop steps: raised once per contact and step
-- (kept across restarts), delivered to the command centre's webhook with
-- retries, and counted for the app's badge.
CREATE TABLE contact_alerts (
    contact_id      bigint NOT NULL REFERENCES contacts (id),
    step            text NOT NULL CHECK (step IN ('contact', 'visit', 'transfer', 'disinfect')),
    county_id       bigint NOT NULL REFERENCES admin_areas (id),
    due_at          timestamptz NOT NULL,
    raised_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    attempts        int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text NOT NULL DEFAULT '',
    PRIMARY KEY (contact_id, step)
);
CREATE INDEX contact_alerts_due ON contact_alerts (next_attempt_at) WHERE delivered_at IS NULL;
