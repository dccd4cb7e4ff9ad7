-- Up Migration

-- A client's idempotency keys and the engine's own (allowances, trials, job holds, record charges)
-- live in separate key spaces: a client charge keyed `trial` or `job:<id>:hold` must never replay
-- or block what the engine does under that key.
ALTER TABLE operations ADD COLUMN origin text NOT NULL DEFAULT 'client' CHECK (origin IN ('client', 'engine'));

-- Until now the engine made every grant and everything of a job's hold; clients made charges and top-ups.
UPDATE operations SET origin = 'engine' WHERE kind IN ('grant', 'hold', 'hold_extend', 'hold_charge');

ALTER TABLE operations ALTER COLUMN origin DROP DEFAULT;
ALTER TABLE operations
  DROP CONSTRAINT operations_account_id_idempotency_key_key,
  ADD CONSTRAINT operations_key_per_origin UNIQUE (account_id, origin, idempotency_key);
