-- Up Migration

-- Charges `quantity` units of a hold's feature from what the hold earmarks on grants in force, in
-- spending order, in one call: the account's lock, replay or conflict by key, the hold open, the
-- entries and the operation with its result. `prices` maps each feature to its unit price (micros).
-- Answers {"ok": result} or {"refused": code, "details": {...}}; a refusal writes nothing.
CREATE FUNCTION credits_hold_charge(item jsonb, prices jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  account_key text := item->>'accountId';
  hold_key bigint := (item->>'holdId')::bigint;
  instant timestamptz := (item->>'now')::timestamptz;
  hold holds%ROWTYPE;
  previous record;
  charged bigint;
  needed bigint;
  earmark record;
  draw_grants bigint[] := '{}';
  draw_amounts bigint[] := '{}';
  held_in_force bigint := 0;
  new_operation_id bigint;
  result jsonb;
BEGIN
  PERFORM 1 FROM accounts a WHERE a.account_id = account_key FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('refused', 'UNKNOWN_ACCOUNT', 'details', jsonb_build_object('accountId', account_key));
  END IF;
  SELECT * INTO hold FROM holds h WHERE h.hold_id = hold_key AND h.account_id = account_key;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('refused', 'UNKNOWN_HOLD', 'details', jsonb_build_object('holdId', item->>'holdId', 'accountId', account_key));
  END IF;
  SELECT o.kind, o.request_hash, o.result INTO previous FROM operations o
   WHERE o.account_id = account_key AND o.origin = item->>'origin' AND o.idempotency_key = item->>'idempotencyKey';
  IF FOUND THEN
    IF previous.request_hash <> item->>'requestHash' OR previous.result IS NULL THEN
      RETURN jsonb_build_object('refused', 'IDEMPOTENCY_CONFLICT', 'details', jsonb_build_object('idempotencyKey', item->>'idempotencyKey', 'previousKind', previous.kind));
    END IF;
    RETURN jsonb_build_object('ok', previous.result || '{"replayed": true}');
  END IF;
  IF hold.released_at IS NOT NULL THEN
    RETURN jsonb_build_object('refused', 'HOLD_RELEASED', 'details', jsonb_build_object('holdId', item->>'holdId'));
  END IF;
  charged := (prices->>hold.feature)::bigint * (item->>'quantity')::bigint;
  IF charged IS NULL THEN
    RAISE EXCEPTION 'no price for feature % of hold %', hold.feature, hold_key;
  END IF;

  needed := charged;
  FOR earmark IN
    SELECT a.grant_id, a.held FROM hold_allocations a JOIN grants_in_force(account_key, instant) g USING (grant_id)
     WHERE a.hold_id = hold_key AND a.held > 0 ORDER BY g.spend_rank
  LOOP
    held_in_force := held_in_force + earmark.held;
    IF needed > 0 THEN
      draw_grants := draw_grants || earmark.grant_id;
      draw_amounts := draw_amounts || least(earmark.held, needed);
      needed := needed - least(earmark.held, needed);
    END IF;
  END LOOP;
  IF needed > 0 THEN
    RETURN jsonb_build_object('refused', 'INSUFFICIENT_CREDITS',
      'details', jsonb_build_object('needed', charged, 'available', held_in_force, 'holdId', item->>'holdId', 'feature', hold.feature));
  END IF;

  new_operation_id := nextval('operations_operation_id_seq');
  result := jsonb_build_object('chargeId', new_operation_id::text, 'holdId', item->>'holdId', 'credits', charged);
  INSERT INTO operations (operation_id, account_id, origin, idempotency_key, kind, request_hash, user_id, feature, job_id, credits, quantity, result, occurred_at)
    OVERRIDING SYSTEM VALUE
    VALUES (new_operation_id, account_key, item->>'origin', item->>'idempotencyKey', 'hold_charge', item->>'requestHash', hold.user_id, hold.feature, hold.job_id,
            charged, (item->>'quantity')::bigint, result, instant);
  INSERT INTO ledger_entries (account_id, operation_id, grant_id, hold_id, kind, amount, held_change, occurred_at)
  SELECT account_key, new_operation_id, d.grant_id, hold_key, 'charge', -d.amount, -d.amount, instant FROM unnest(draw_grants, draw_amounts) AS d (grant_id, amount);
  RETURN jsonb_build_object('ok', result || '{"replayed": false}');
END;
$$;

-- Down Migration
DROP FUNCTION credits_hold_charge;
