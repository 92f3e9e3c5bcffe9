-- What Tether owes the vendor's system after a webhook: notices (an installation removed, a
-- project removed, a transfer) and releases of resources no installation uses any more. Written
-- in the same transaction as the webhook's effect, sent by a worker until the vendor says 2xx:
-- at least once, with a stable id the vendor can drop repeats by.

CREATE TABLE provider_jobs (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    account         TEXT NOT NULL,
    body            TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    done_at         BIGINT,
    last_error      TEXT
);
CREATE INDEX provider_jobs_due ON provider_jobs (state, next_attempt_at);
