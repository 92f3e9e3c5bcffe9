-- Resources may live in the vendor's own system (the http provider): a link names its resource by
-- id, without a foreign key into the built-in provider's table. SQLite drops a constraint by
-- rebuilding the table.

CREATE TABLE links_new (
    configuration_id TEXT NOT NULL REFERENCES installations (configuration_id),
    project_id       TEXT NOT NULL,
    project_name     TEXT NOT NULL,
    resource_id      TEXT,
    external_id      TEXT,
    status           TEXT NOT NULL,
    error            TEXT,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (configuration_id, project_id)
);
INSERT INTO links_new (configuration_id, project_id, project_name, resource_id, external_id, status, error, updated_at)
SELECT configuration_id, project_id, project_name, resource_id, external_id, status, error, updated_at FROM links;
DROP TABLE links;
ALTER TABLE links_new RENAME TO links;
