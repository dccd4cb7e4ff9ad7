-- Up Migration

-- Whether a spend by a user the account has not registered is refused (UNKNOWN_USER) or registers
-- that user as a member. New accounts refuse unless they choose otherwise; accounts that existed
-- before registered nobody and let anyone spend, so they keep that behaviour as 'register'.
ALTER TABLE accounts ADD COLUMN unknown_users text NOT NULL DEFAULT 'register' CHECK (unknown_users IN ('refuse', 'register'));
ALTER TABLE accounts ALTER COLUMN unknown_users SET DEFAULT 'refuse';

-- Down Migration
ALTER TABLE accounts DROP COLUMN unknown_users;
