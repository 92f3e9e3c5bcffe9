-- An installation's Vercel project list, kept briefly so the install page (a search, a reload,
-- the return after Connect) does not page through every project at Vercel on every load. A new
-- popup, a project.created or project.removed webhook, a permission change and the page's
-- Refresh link each drop it.

CREATE TABLE project_cache (
    configuration_id TEXT PRIMARY KEY,
    projects         TEXT NOT NULL,
    fetched_at       BIGINT NOT NULL
);
