-- Up Migration

-- The ledger's operations find their rows by key (an account, a user, a grant, an operation's
-- idempotency key), and must do so through those keys' indexes whatever the statistics say. A
-- connection keeps the plans of a function's statements; made while a table was analysed as empty
-- (a fresh ledger after an ANALYZE), a sequential scan looks cheapest and is kept while the table
-- grows, until autovacuum analyses it again: each charge then read every operation of the ledger
-- (ledger.charge.hot, 20,000 charges after such an ANALYZE: 185 charges/s instead of 1,600). Set on
-- the functions Node calls; what they call, and the foreign-key checks of their statements, are
-- planned under it too. Costs nothing measurable per call; set-based reports are not covered.
ALTER FUNCTION credits_charge_batch(jsonb, jsonb) SET enable_seqscan = off;
ALTER FUNCTION credits_hold_charge(jsonb, jsonb) SET enable_seqscan = off;
ALTER FUNCTION credits_reserve(jsonb) SET enable_seqscan = off;
ALTER FUNCTION credits_release_hold(text, bigint, timestamptz) SET enable_seqscan = off;
ALTER FUNCTION credits_grant(jsonb) SET enable_seqscan = off;
ALTER FUNCTION credits_refund(jsonb) SET enable_seqscan = off;
ALTER FUNCTION credits_remove_credits(jsonb) SET enable_seqscan = off;
ALTER FUNCTION credits_set_contract(jsonb) SET enable_seqscan = off;
ALTER FUNCTION credits_expire(text, bigint, timestamptz, text) SET enable_seqscan = off;
ALTER FUNCTION credits_write_allowance(jsonb) SET enable_seqscan = off;
ALTER FUNCTION credits_period_renewed(text, timestamptz, timestamptz) SET enable_seqscan = off;
ALTER FUNCTION credits_authorize_spend(accounts, text, text[], text, timestamptz, boolean) SET enable_seqscan = off;

-- The terms in force, as Node reads them for a period (a prepared statement, whose plan the
-- connection keeps too): under the same setting.
CREATE FUNCTION credits_contract_terms(account_key text, at_instant timestamptz)
  RETURNS TABLE (contract_id text, allowance_micros bigint, allowance_per_seat boolean, extra_features text[], effective_from timestamptz, operator text, reason text)
  LANGUAGE sql STABLE SET enable_seqscan = off
  BEGIN ATOMIC
    SELECT c.contract_id::text, c.allowance_micros, c.allowance_per_seat, c.extra_features, c.effective_from, o.operator, o.reason
      FROM contract_in_force(account_key, at_instant) c JOIN operations o USING (operation_id);
  END;

-- Down Migration
DROP FUNCTION credits_contract_terms;
ALTER FUNCTION credits_charge_batch(jsonb, jsonb) RESET enable_seqscan;
ALTER FUNCTION credits_hold_charge(jsonb, jsonb) RESET enable_seqscan;
ALTER FUNCTION credits_reserve(jsonb) RESET enable_seqscan;
ALTER FUNCTION credits_release_hold(text, bigint, timestamptz) RESET enable_seqscan;
ALTER FUNCTION credits_grant(jsonb) RESET enable_seqscan;
ALTER FUNCTION credits_refund(jsonb) RESET enable_seqscan;
ALTER FUNCTION credits_remove_credits(jsonb) RESET enable_seqscan;
ALTER FUNCTION credits_set_contract(jsonb) RESET enable_seqscan;
ALTER FUNCTION credits_expire(text, bigint, timestamptz, text) RESET enable_seqscan;
ALTER FUNCTION credits_write_allowance(jsonb) RESET enable_seqscan;
ALTER FUNCTION credits_period_renewed(text, timestamptz, timestamptz) RESET enable_seqscan;
ALTER FUNCTION credits_authorize_spend(accounts, text, text[], text, timestamptz, boolean) RESET enable_seqscan;
