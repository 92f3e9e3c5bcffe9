-- Webhooks: an inbox keyed by Vercel's event id (a repeat delivery is a no-op), and what the
-- events told us about projects and deployments.

CREATE TABLE webhook_events (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    configuration_id TEXT,
    body             TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    received_at      BIGINT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    processed_at     BIGINT,
    outcome          TEXT
);
CREATE INDEX webhook_events_due ON webhook_events (state, next_attempt_at);

-- The latest word per project and kind (project.created, a deployment's state): an older event
-- arriving late does not overwrite a newer one.
CREATE TABLE project_events (
    configuration_id TEXT NOT NULL,
    project_id       TEXT NOT NULL,
    kind             TEXT NOT NULL,
    detail           TEXT NOT NULL,
    event_created_at BIGINT NOT NULL,
    PRIMARY KEY (configuration_id, project_id, kind)
);

ALTER TABLE installations ADD COLUMN removed_at BIGINT;
