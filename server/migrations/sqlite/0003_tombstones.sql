-- Removal is final: every configuration id Vercel said was removed, including ids Tether never
-- stored (the webhook can arrive before the callback). A callback for one of them is refused.

CREATE TABLE removed_configurations (
    configuration_id TEXT PRIMARY KEY,
    removed_at       BIGINT NOT NULL
);

INSERT INTO removed_configurations (configuration_id, removed_at)
SELECT configuration_id, COALESCE(removed_at, updated_at) FROM installations WHERE status = 'uninstalled';
