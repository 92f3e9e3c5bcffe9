-- The vendor's own records: its resources (with the Idempotency-Key that created each) and the
-- notices Tether sent it.

CREATE TABLE resources (
    id              TEXT PRIMARY KEY,
    account         TEXT NOT NULL,
    name            TEXT NOT NULL,
    api_key         TEXT NOT NULL,
    pending_key     TEXT,
    idempotency_key TEXT UNIQUE,
    created_at      BIGINT NOT NULL
);
CREATE INDEX resources_by_account ON resources (account);

CREATE TABLE notices (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
