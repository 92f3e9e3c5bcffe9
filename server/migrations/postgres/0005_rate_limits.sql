-- Rate-limit bookkeeping every instance shares: per route and client, when its next request is
-- due (a generic cell rate algorithm's theoretical arrival time, Unix ms) and whether the last
-- one was allowed. A row whose time has passed says nothing and is purged.

CREATE TABLE rate_limits (
    bucket  TEXT PRIMARY KEY,
    due_at  BIGINT NOT NULL,
    allowed BIGINT NOT NULL
);
