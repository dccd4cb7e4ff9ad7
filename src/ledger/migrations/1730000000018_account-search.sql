-- Up Migration

-- Finding accounts by the start of their id (GET /v1/accounts?prefix=, the console's finder): a
-- pattern index lets `LIKE 'prefix%'` read only the matches, whatever the database's collation.
CREATE INDEX accounts_id_prefix ON accounts (account_id text_pattern_ops);

-- Down Migration
DROP INDEX accounts_id_prefix;
