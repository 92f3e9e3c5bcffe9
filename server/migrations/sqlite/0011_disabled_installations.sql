-- When Vercel last answered that this installation is disabled (its installer left the team),
-- or NULL. While set, the install page and Configure ask Vercel again on every load instead of
-- offering actions from the cache; a transfer, or any call that works again, clears it.
ALTER TABLE installations ADD COLUMN disabled_at BIGINT;
