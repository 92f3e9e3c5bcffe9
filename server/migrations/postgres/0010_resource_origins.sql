-- Where each link's resource came from, for this installation: `created` (Tether asked the
-- vendor to create it for this installation) or `connected` (it existed, and the user chose
-- it). Tether only ever asks the vendor to release what it created; a link recorded before this
-- column existed has no origin and counts as connected, so it is never released.
ALTER TABLE links ADD COLUMN origin TEXT;
