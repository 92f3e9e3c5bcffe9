-- Account linking: the vendor's own account an installation acts for, as the vendor asserted it
-- after the user signed in there. Without linking configured it stays empty and the Vercel owner
-- (team or user) is the account.

ALTER TABLE installations ADD COLUMN vendor_account TEXT;
