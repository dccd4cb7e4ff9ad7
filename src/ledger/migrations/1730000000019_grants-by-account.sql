-- Up Migration

-- An account's grants whatever their state: a period's allowance written ahead or at a boundary
-- (`periodAllowance`, once per opening and per boundary), its period end, the grants list and the
-- statements. Only unexpired grants had an index (grants_live), so each of these scanned every
-- grant of every account: a rollover got slower with each account added.
CREATE INDEX grants_by_account ON grants (account_id, effective_at);

-- Down Migration
DROP INDEX grants_by_account;
