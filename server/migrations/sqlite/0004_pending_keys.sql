-- Two-phase rotation: the new API key waits here, sealed, while it is written to every linked
-- project; only then does it replace the old one. Both work in between.

ALTER TABLE resources ADD COLUMN sealed_pending_key BLOB;
