-- Resources may live in the vendor's own system (the http provider): a link names its resource by
-- id, without a foreign key into the built-in provider's table.

ALTER TABLE links DROP CONSTRAINT IF EXISTS links_resource_id_fkey;
