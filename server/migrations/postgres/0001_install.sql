-- Installations, the sessions that may act on them, vendor resources, project links and the env
-- vars Tether wrote. Times are Unix milliseconds. Secrets are sealed (see seal.rs).

CREATE TABLE installations (
    configuration_id TEXT PRIMARY KEY,
    team_id          TEXT,
    user_id          TEXT NOT NULL,
    source           TEXT NOT NULL,
    sealed_token     BYTEA NOT NULL,
    status           TEXT NOT NULL DEFAULT 'active',
    finished_at      BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

-- Only the SHA-256 of a code is kept: enough to refuse a replay, useless to an attacker.
CREATE TABLE used_codes (
    code_hash        TEXT PRIMARY KEY,
    configuration_id TEXT NOT NULL,
    used_at          BIGINT NOT NULL
);

CREATE TABLE sessions (
    id_hash            TEXT PRIMARY KEY,
    configuration_id   TEXT NOT NULL REFERENCES installations (configuration_id),
    next_url           TEXT NOT NULL,
    current_project_id TEXT,
    external_id        TEXT,
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL
);
CREATE INDEX sessions_by_installation ON sessions (configuration_id);

CREATE TABLE resources (
    id             TEXT PRIMARY KEY,
    owner_id       TEXT NOT NULL,
    name           TEXT NOT NULL,
    region         TEXT NOT NULL,
    url            TEXT NOT NULL,
    sealed_api_key BYTEA NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX resources_by_owner ON resources (owner_id);

CREATE TABLE links (
    configuration_id TEXT NOT NULL REFERENCES installations (configuration_id),
    project_id       TEXT NOT NULL,
    project_name     TEXT NOT NULL,
    resource_id      TEXT REFERENCES resources (id),
    external_id      TEXT,
    status           TEXT NOT NULL,
    error            TEXT,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (configuration_id, project_id)
);

CREATE TABLE env_vars (
    configuration_id TEXT NOT NULL,
    project_id       TEXT NOT NULL,
    vercel_env_id    TEXT NOT NULL,
    key              TEXT NOT NULL,
    kind             TEXT NOT NULL,
    targets          TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (project_id, vercel_env_id)
);
