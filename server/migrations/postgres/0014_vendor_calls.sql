-- What the vendor tells Tether about a native installation (the contract's calls to Tether),
-- kept so Vercel's reads answer it and the push to Vercel always sends the latest.

-- A resource's status as the vendor last said it (`ready`, `suspended`, `error`, …; none said
-- yet: ready once provisioned), its notification (JSON, Vercel's shape), and the
-- `webhook-timestamp` of the call that said so: an older call arriving late changes nothing.
ALTER TABLE native_resources ADD COLUMN vendor_status TEXT;
ALTER TABLE native_resources ADD COLUMN notification TEXT;
ALTER TABLE native_resources ADD COLUMN said_at BIGINT;
-- `created` through Vercel's form, or `imported`: the customer's own, which the vendor brought
-- in; Tether never releases an imported resource (issue 13's origin rule).
ALTER TABLE native_resources ADD COLUMN origin TEXT NOT NULL DEFAULT 'created';
-- A vendor resource is in an installation at most once while live.
CREATE UNIQUE INDEX native_resources_by_vendor_id ON native_resources (configuration_id, vendor_id)
    WHERE deleted_at IS NULL;

-- The installation's notification, as the vendor last said it, and when.
ALTER TABLE native_installations ADD COLUMN notification TEXT;
ALTER TABLE native_installations ADD COLUMN said_at BIGINT;
