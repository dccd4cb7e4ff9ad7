-- Up Migration

-- An operator's removal of credits and refunds of charges, one call each, attributed.

-- Removes unheld credits from a grant in force: never below zero, never what a job holds.
CREATE FUNCTION credits_remove_credits(item jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  early jsonb;
  account_key text := item->>'accountId';
  instant timestamptz := (item->>'now')::timestamptz;
  removed bigint := (item->>'credits')::bigint;
  replay jsonb;
  g grants%ROWTYPE;
  in_force boolean;
  removable bigint;
  new_operation_id bigint;
  result jsonb;
BEGIN
  early := credits_lock(account_key);
  IF early IS NOT NULL THEN
    RETURN early;
  END IF;
  replay := credits_replay(account_key, item);
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  SELECT * INTO g FROM grants WHERE grant_id = (item->>'grantId')::bigint AND account_id = account_key;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('refused', 'UNKNOWN_GRANT', 'details', jsonb_build_object('grantId', item->>'grantId', 'accountId', account_key));
  END IF;
  in_force := grant_in_force(g.expired_at, g.effective_at, g.expires_at, instant);
  removable := CASE WHEN in_force THEN g.remaining - g.held ELSE 0 END;
  IF removed > removable THEN
    RETURN jsonb_build_object('refused', 'REMOVAL_EXCEEDS_GRANT',
      'details', jsonb_build_object('grantId', item->>'grantId', 'removable', removable, 'held', g.held, 'inForce', in_force, 'credits', removed));
  END IF;
  new_operation_id := nextval('operations_operation_id_seq');
  INSERT INTO ledger_entries (account_id, operation_id, grant_id, kind, amount, held_change, occurred_at)
    VALUES (account_key, new_operation_id, g.grant_id, 'adjust', -removed, 0, instant);
  result := jsonb_build_object(
    'adjustmentId', new_operation_id::text,
    'action', 'remove',
    'credits', removed,
    'grant', jsonb_build_object('grantId', g.grant_id::text, 'source', g.source, 'credits', g.amount, 'remaining', g.remaining - removed,
                                'effectiveAt', credits_iso(g.effective_at), 'expiresAt', credits_iso(g.expires_at)),
    'balance', jsonb_build_object('available', credits_available(account_key, instant)));
  INSERT INTO operations (operation_id, account_id, origin, idempotency_key, kind, request_hash, credits, result, occurred_at, operator, reason)
    OVERRIDING SYSTEM VALUE
    VALUES (new_operation_id, account_key, item->>'origin', item->>'idempotencyKey', 'adjustment', item->>'requestHash', removed, result, instant, item->>'operator', item->>'reason');
  RETURN jsonb_build_object('ok', result || '{"replayed": false}');
END;
$$;

-- Refunds a charge in full or in part. Refunds walk the charge's entries latest first (the
-- longest-lived grants it drew on), each taking up where the earlier ones stopped; credits go back
-- to grants still in force, and what came from a grant that has expired since is reported, not put
-- back. All refunds of a charge together never exceed it.
CREATE FUNCTION credits_refund(item jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  early jsonb;
  account_key text := item->>'accountId';
  charge_key bigint := (item->>'chargeId')::bigint;
  instant timestamptz := (item->>'now')::timestamptz;
  charge record;
  replay jsonb;
  refunded bigint;
  refundable bigint;
  asked bigint;
  to_skip bigint;
  left_to_refund bigint;
  skipped bigint;
  taken bigint;
  entry record;
  slices jsonb[] := '{}';
  returned bigint := 0;
  new_operation_id bigint;
  result jsonb;
BEGIN
  early := credits_lock(account_key);
  IF early IS NOT NULL THEN
    RETURN early;
  END IF;
  SELECT o.credits, o.user_id, o.feature, o.job_id INTO charge FROM operations o
   WHERE o.operation_id = charge_key AND o.account_id = account_key AND o.kind IN ('charge', 'hold_charge');
  IF NOT FOUND THEN
    RETURN jsonb_build_object('refused', 'UNKNOWN_CHARGE', 'details', jsonb_build_object('chargeId', item->>'chargeId', 'accountId', account_key));
  END IF;
  replay := credits_replay(account_key, item);
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  SELECT coalesce(sum(o.credits), 0) INTO refunded FROM operations o WHERE o.refund_of = charge_key AND o.kind = 'refund';
  refundable := charge.credits - refunded;
  asked := coalesce((item->>'credits')::bigint, refundable);
  IF asked = 0 OR asked > refundable THEN
    RETURN jsonb_build_object('refused', 'REFUND_EXCEEDS_CHARGE',
      'details', jsonb_build_object('chargeId', item->>'chargeId', 'charged', charge.credits, 'refunded', refunded, 'refundable', refundable));
  END IF;

  new_operation_id := nextval('operations_operation_id_seq');
  to_skip := refunded;
  left_to_refund := asked;
  FOR entry IN
    SELECT e.grant_id, -e.amount AS charged, grant_in_force(g.expired_at, g.effective_at, g.expires_at, instant) AS valid
      FROM ledger_entries e JOIN grants g USING (grant_id)
     WHERE e.operation_id = charge_key AND e.kind = 'charge' ORDER BY e.entry_id DESC
  LOOP
    EXIT WHEN left_to_refund = 0;
    skipped := least(to_skip, entry.charged);
    to_skip := to_skip - skipped;
    taken := least(entry.charged - skipped, left_to_refund);
    IF taken > 0 THEN
      slices := array_append(slices, jsonb_build_object('grantId', entry.grant_id::text, 'credits', taken, 'returned', entry.valid));
      left_to_refund := left_to_refund - taken;
      IF entry.valid THEN
        returned := returned + taken;
        INSERT INTO ledger_entries (account_id, operation_id, grant_id, kind, amount, held_change, occurred_at)
          VALUES (account_key, new_operation_id, entry.grant_id, 'refund', taken, 0, instant);
      END IF;
    END IF;
  END LOOP;
  IF left_to_refund <> 0 THEN
    RAISE EXCEPTION 'invariant: refund of % found only % charged credits after %', asked, asked - left_to_refund, refunded;
  END IF;
  result := jsonb_build_object(
    'refundId', new_operation_id::text,
    'chargeId', item->>'chargeId',
    'credits', asked,
    'returned', returned,
    'expired', asked - returned,
    'grants', to_jsonb(slices),
    'charge', jsonb_build_object('credits', charge.credits, 'refunded', refunded + asked, 'refundable', refundable - asked),
    'balance', jsonb_build_object('available', credits_available(account_key, instant)));
  INSERT INTO operations (operation_id, account_id, origin, idempotency_key, kind, request_hash, user_id, feature, job_id, credits, result, occurred_at, operator, reason, refund_of)
    OVERRIDING SYSTEM VALUE
    VALUES (new_operation_id, account_key, item->>'origin', item->>'idempotencyKey', 'refund', item->>'requestHash', charge.user_id, charge.feature, charge.job_id,
            asked, result, instant, item->>'operator', item->>'reason', charge_key);
  RETURN jsonb_build_object('ok', result || '{"replayed": false}');
END;
$$;

-- Records contract terms from `effectiveFrom` (the account workflow chooses it: now, or its next
-- period's start); a replay answers the terms first recorded.
CREATE FUNCTION credits_set_contract(item jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  early jsonb;
  account_key text := item->>'accountId';
  instant timestamptz := (item->>'now')::timestamptz;
  replay jsonb;
  new_operation_id bigint;
  new_contract_id bigint;
  result jsonb;
BEGIN
  early := credits_lock(account_key);
  IF early IS NOT NULL THEN
    RETURN early;
  END IF;
  replay := credits_replay(account_key, item);
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  new_operation_id := nextval('operations_operation_id_seq');
  new_contract_id := nextval('account_contracts_contract_id_seq');
  result := jsonb_build_object(
    'accountId', account_key,
    'contractId', new_contract_id::text,
    'allowance', item->'allowance',
    'extraFeatures', item->'extraFeatures',
    'effectiveFrom', item->>'effectiveFrom',
    'operator', item->>'operator',
    'reason', item->>'reason');
  INSERT INTO operations (operation_id, account_id, origin, idempotency_key, kind, request_hash, result, occurred_at, operator, reason)
    OVERRIDING SYSTEM VALUE
    VALUES (new_operation_id, account_key, item->>'origin', item->>'idempotencyKey', 'contract', item->>'requestHash', result, instant, item->>'operator', item->>'reason');
  INSERT INTO account_contracts (contract_id, account_id, operation_id, allowance_micros, allowance_per_seat, extra_features, effective_from, created_at)
    OVERRIDING SYSTEM VALUE
    VALUES (new_contract_id, account_key, new_operation_id, (item->'allowance'->>'credits')::bigint, coalesce((item->'allowance'->>'perSeat')::boolean, false),
            ARRAY(SELECT jsonb_array_elements_text(item->'extraFeatures')), (item->>'effectiveFrom')::timestamptz, instant);
  RETURN jsonb_build_object('ok', result || '{"replayed": false}');
END;
$$;

-- Down Migration
DROP FUNCTION credits_set_contract, credits_refund, credits_remove_credits;
