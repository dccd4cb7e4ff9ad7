-- Up Migration

-- Holds in one call each: reserve a new hold or extend one (`credits_reserve`), release one
-- (`credits_release_hold`). Answers {"ok": result} or {"refused": code, "details": {...}}; a
-- refusal writes nothing.

-- A hold is written before its operation row, which is inserted once, with its result.
ALTER TABLE holds ALTER CONSTRAINT holds_operation_id_account_id_fkey DEFERRABLE INITIALLY DEFERRED;

-- Earmarks up to `max_credits` (less when less is free) for a hold, in spending order, and applies
-- the balance alerts: earmarked credits leave the available balance. Returns what it earmarked.
CREATE FUNCTION credits_earmark(account accounts, hold_key bigint, feature_id text, operation bigint, max_credits bigint, instant timestamptz)
  RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  draws record;
BEGIN
  SELECT * INTO draws FROM credits_plan_draws(account.account_id, feature_id, max_credits, instant);
  INSERT INTO ledger_entries (account_id, operation_id, grant_id, hold_id, kind, amount, held_change, occurred_at)
  SELECT account.account_id, operation, d.grant_id, hold_key, 'hold', 0, d.amount, instant FROM unnest(draws.grant_ids, draws.amounts) AS d (grant_id, amount);
  PERFORM credits_balance_alerts(account, draws.available, draws.available - draws.covered, draws.period_allowance, operation, instant);
  RETURN draws.covered;
END;
$$;

-- A new hold (`holdId` absent: gating, known users and the switch as for a charge) or more credits
-- for an open one.
CREATE FUNCTION credits_reserve(item jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  early jsonb;
  account accounts%ROWTYPE;
  instant timestamptz := (item->>'now')::timestamptz;
  extending boolean := item->>'holdId' IS NOT NULL;
  hold holds%ROWTYPE;
  previous jsonb;
  verdict jsonb;
  feature_id text := item->>'feature';
  new_operation_id bigint;
  hold_key bigint;
  reserved bigint;
  result jsonb;
BEGIN
  early := credits_lock(item->>'accountId');
  IF early IS NOT NULL THEN
    RETURN early;
  END IF;
  SELECT * INTO account FROM accounts a WHERE a.account_id = item->>'accountId';
  IF extending THEN
    SELECT * INTO hold FROM holds h WHERE h.hold_id = (item->>'holdId')::bigint AND h.account_id = account.account_id;
    IF NOT FOUND THEN
      RETURN jsonb_build_object('refused', 'UNKNOWN_HOLD', 'details', jsonb_build_object('holdId', item->>'holdId', 'accountId', account.account_id));
    END IF;
  END IF;
  previous := credits_replay(account.account_id, item);
  IF previous IS NOT NULL THEN
    RETURN previous;
  END IF;
  new_operation_id := nextval('operations_operation_id_seq');
  IF extending THEN
    IF hold.released_at IS NOT NULL THEN
      RETURN jsonb_build_object('refused', 'HOLD_RELEASED', 'details', jsonb_build_object('holdId', item->>'holdId'));
    END IF;
    hold_key := hold.hold_id;
    feature_id := hold.feature;
  ELSE
    verdict := credits_spend_check(account, feature_id, ARRAY(SELECT jsonb_array_elements_text(item->'plans')), item->>'userId', instant);
    IF verdict ? 'refused' THEN
      RETURN verdict;
    END IF;
    IF verdict IS NOT NULL THEN
      PERFORM credits_register_spender(account.account_id, item->>'userId', instant);
    END IF;
    hold_key := nextval('holds_hold_id_seq');
    INSERT INTO holds (hold_id, account_id, operation_id, feature, user_id, job_id, created_at)
      OVERRIDING SYSTEM VALUE VALUES (hold_key, account.account_id, new_operation_id, feature_id, item->>'userId', item->>'jobId', instant);
  END IF;
  reserved := credits_earmark(account, hold_key, feature_id, new_operation_id, (item->>'maxCredits')::bigint, instant);
  result := jsonb_build_object('holdId', hold_key::text, 'reserved', reserved);
  IF extending THEN
    INSERT INTO operations (operation_id, account_id, origin, idempotency_key, kind, request_hash, result, occurred_at)
      OVERRIDING SYSTEM VALUE VALUES (new_operation_id, account.account_id, item->>'origin', item->>'idempotencyKey', 'hold_extend', item->>'requestHash', result, instant);
  ELSE
    INSERT INTO operations (operation_id, account_id, origin, idempotency_key, kind, request_hash, user_id, feature, job_id, result, occurred_at)
      OVERRIDING SYSTEM VALUE
      VALUES (new_operation_id, account.account_id, item->>'origin', item->>'idempotencyKey', 'hold', item->>'requestHash', item->>'userId', feature_id, item->>'jobId', result, instant);
  END IF;
  RETURN jsonb_build_object('ok', result || '{"replayed": false}');
END;
$$;

-- Returns everything a hold earmarks to its grants; releasing a released hold changes nothing.
CREATE FUNCTION credits_release_hold(account_key text, hold_key bigint, instant timestamptz) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  early jsonb;
  released timestamptz;
BEGIN
  early := credits_lock(account_key);
  IF early IS NOT NULL THEN
    RETURN early;
  END IF;
  SELECT h.released_at INTO released FROM holds h WHERE h.hold_id = hold_key AND h.account_id = account_key;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('refused', 'UNKNOWN_HOLD', 'details', jsonb_build_object('holdId', hold_key::text, 'accountId', account_key));
  END IF;
  IF released IS NULL THEN
    INSERT INTO ledger_entries (account_id, grant_id, hold_id, kind, amount, held_change, occurred_at)
    SELECT account_key, a.grant_id, hold_key, 'release', 0, -a.held, instant FROM hold_allocations a WHERE a.hold_id = hold_key AND a.held > 0 ORDER BY a.grant_id;
    UPDATE holds SET released_at = instant WHERE hold_id = hold_key;
  END IF;
  RETURN '{"ok": {}}';
END;
$$;

-- Down Migration
DROP FUNCTION credits_release_hold, credits_reserve, credits_earmark;
ALTER TABLE holds ALTER CONSTRAINT holds_operation_id_account_id_fkey NOT DEFERRABLE;
