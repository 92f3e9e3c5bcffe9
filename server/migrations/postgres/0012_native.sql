-- Native integrations (Vercel's Marketplace protocol). An installation Vercel made through the
-- Partner API (`PUT /v1/installations/{id}`) is a row of `installations` of kind `native`: its
-- sealed token is the one Vercel handed over in `credentials`, never exchanged from a code, and
-- nothing else than that PUT may change it. Rows from before are the popup's kind, `connectable`.
ALTER TABLE installations ADD COLUMN kind TEXT NOT NULL DEFAULT 'connectable';

-- What Vercel said of a native installation, as it said it (JSON): the team's `account`
-- (name, url, contact), the `scopes` granted and the `acceptedPolicies`.
CREATE TABLE native_installations (
    configuration_id  TEXT PRIMARY KEY REFERENCES installations (configuration_id),
    account           TEXT NOT NULL,
    scopes            TEXT NOT NULL,
    accepted_policies TEXT NOT NULL,
    updated_at        BIGINT NOT NULL
);

-- The resources Vercel provisioned through a native installation. `id` is Tether's, the one
-- Vercel knows; `vendor_id` is the vendor's, set once the vendor created it. A row is written
-- before the vendor is asked (status `provisioning`), so a crash between the two leaves a row a
-- retry with the same Idempotency-Key resumes, never a resource Tether forgot.
CREATE TABLE native_resources (
    id               TEXT PRIMARY KEY,
    configuration_id TEXT NOT NULL REFERENCES installations (configuration_id),
    vendor_id        TEXT,
    product_id       TEXT NOT NULL,
    name             TEXT NOT NULL,
    metadata         TEXT NOT NULL,
    billing_plan_id  TEXT NOT NULL,
    external_id      TEXT,
    status           TEXT NOT NULL,
    -- Vercel's Idempotency-Key and a digest of the request it came with: a retry answers the
    -- same resource, the same key with another request is a conflict.
    idempotency_key  TEXT,
    request_digest   TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    deleted_at       BIGINT
);
CREATE UNIQUE INDEX native_resources_by_key ON native_resources (configuration_id, idempotency_key);
-- One live resource of a name per installation: a retry without a key cannot make a second.
CREATE UNIQUE INDEX native_resources_by_name ON native_resources (configuration_id, name) WHERE deleted_at IS NULL;
