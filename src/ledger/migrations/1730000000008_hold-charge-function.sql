-- Up Migration

-- Charges `quantity` units of a hold's feature from what the hold earmarks on grants in force, in
-- spending order, in one call: the account's lock, replay or conflict by key, the hold open, the
-- entries and the operation with its result. `prices` maps each feature to its unit price (micros).
-- Answers {"ok": result} or {"refused": code, "details": {...}}; a refusal writes nothing.
CREATE FUNCTION credits_hold_charge(item jsonb, prices jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  early jsonb;
  account_key text := item->>'accountId';
  hold_key bigint := (item->>'holdId')::bigint;
  instant timestamptz := (item->>'now')::timestamptz;
  hold holds%ROWTYPE;
  previous jsonb;
  charged bigint;
  needed bigint;
  earmark record;
  draw_grants bigint[] := '{}';
  draw_amounts bigint[] := '{}';
  held_in_force bigint := 0;
  new_operation_id bigint;
  result jsonb;
BEGIN
  early := credits_lock(account_key);
  IF early IS NOT NULL THEN
    RETURN early;
  END IF;
  SELECT * INTO hold FROM holds h WHERE h.hold_id = hold_key AND h.account_id = account_key;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('refused', 'UNKNOWN_HOLD', 'details', jsonb_build_object('holdId', item->>'holdId', 'accountId', account_key));
  END IF;
  previous := credits_replay(account_key, item);
  IF previous IS NOT NULL THEN
    RETURN previous;
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

-- Grants credits in one call: an allowance, trial or promo (`grant`), an admin's purchase
-- (`top_up`, with the balance after it) or an operator's adjustment (`adjustment`, attributed). The
-- account's lock, replay or conflict by key, a top-up only by an admin, one trial per account ever;
-- the operation (with its result), the grant and its entry. Answers {"ok": result} or {"refused": ...}.
CREATE FUNCTION credits_grant(item jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  early jsonb;
  account_key text := item->>'accountId';
  kind text := item->>'kind';
  instant timestamptz := (item->>'now')::timestamptz;
  spender text := item->>'userId';
  previous jsonb;
  new_operation_id bigint;
  new_grant_id bigint;
  result jsonb;
BEGIN
  early := credits_lock(account_key);
  IF early IS NOT NULL THEN
    RETURN early;
  END IF;
  previous := credits_replay(account_key, item);
  IF previous IS NOT NULL THEN
    RETURN previous;
  END IF;
  IF kind = 'top_up' AND NOT EXISTS (SELECT 1 FROM account_users u WHERE u.account_id = account_key AND u.user_id = spender AND u.role = 'admin') THEN
    RETURN jsonb_build_object('refused', 'NOT_ADMIN', 'details', jsonb_build_object('userId', spender, 'accountId', account_key));
  END IF;
  IF item->>'source' = 'trial' AND EXISTS (SELECT 1 FROM grants g WHERE g.account_id = account_key AND g.source = 'trial') THEN
    RETURN jsonb_build_object('refused', 'TRIAL_ALREADY_GRANTED', 'details', jsonb_build_object('accountId', account_key));
  END IF;

  new_operation_id := nextval('operations_operation_id_seq');
  new_grant_id := nextval('grants_grant_id_seq');
  result := jsonb_build_object(
    'grantId', new_grant_id::text,
    'source', item->>'source',
    'credits', (item->>'credits')::bigint,
    'effectiveAt', item->>'effectiveAt',
    'expiresAt', item->'expiresAt');
  IF kind = 'adjustment' THEN
    result := result || jsonb_build_object('operationId', new_operation_id::text);
  END IF;
  -- The balance after a purchase or an adjustment (an allowance written ahead is not in force yet).
  IF kind <> 'grant' THEN
    result := result || jsonb_build_object('balance', jsonb_build_object('available',
      credits_available(account_key, instant)
        + CASE WHEN grant_in_force(NULL, (item->>'effectiveAt')::timestamptz, (item->>'expiresAt')::timestamptz, instant) THEN (item->>'credits')::bigint ELSE 0 END));
  END IF;
  INSERT INTO operations (operation_id, account_id, origin, idempotency_key, kind, request_hash, user_id, credits, result, occurred_at, operator, reason)
    OVERRIDING SYSTEM VALUE
    VALUES (new_operation_id, account_key, item->>'origin', item->>'idempotencyKey', kind, item->>'requestHash', spender, (item->>'credits')::bigint, result, instant,
            item->>'operator', item->>'reason');
  INSERT INTO grants (grant_id, account_id, operation_id, source, amount, priority, effective_at, expires_at, features, created_at)
    OVERRIDING SYSTEM VALUE
    VALUES (new_grant_id, account_key, new_operation_id, item->>'source', (item->>'credits')::bigint, (item->>'priority')::int,
            (item->>'effectiveAt')::timestamptz, (item->>'expiresAt')::timestamptz,
            CASE WHEN jsonb_typeof(item->'features') = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(item->'features')) END, instant);
  INSERT INTO ledger_entries (account_id, operation_id, grant_id, kind, amount, held_change, occurred_at)
    VALUES (account_key, new_operation_id, new_grant_id, 'grant', (item->>'credits')::bigint, 0, instant);
  RETURN jsonb_build_object('ok', result || '{"replayed": false}');
END;
$$;

-- Down Migration
DROP FUNCTION credits_grant, credits_hold_charge;
