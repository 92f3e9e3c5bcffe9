-- Single sign-on from Vercel's dashboard into a native installation. A session opened by a
-- verified SSO id_token is bound to the installation and to the Vercel user the token names,
-- with the role Vercel gave that user in the team (ADMIN, or USER: read only). A popup's session
-- has neither: whoever holds it installed.
ALTER TABLE sessions ADD COLUMN vercel_user_id TEXT;
ALTER TABLE sessions ADD COLUMN role TEXT;

-- The projects a native resource is connected to, as Vercel's webhooks said: Vercel writes the
-- secrets there itself, so this is only what Tether shows and tells the vendor.
CREATE TABLE native_connections (
    resource_id  TEXT NOT NULL REFERENCES native_resources (id),
    project_id   TEXT NOT NULL,
    project_name TEXT,
    connected_at BIGINT NOT NULL,
    PRIMARY KEY (resource_id, project_id)
);
