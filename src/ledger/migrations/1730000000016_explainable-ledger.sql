-- Up Migration

-- Explainable ledger: a charge records its price variant, and its answer says when it happened and
-- which grants paid for it (so a product can show "20 credits: 15 from this month's allowance, 5
-- from a top-up" without a second call). Charges recorded before this migration get the same two
-- fields from their entries, so a replay answers the same shape as a new charge.

ALTER TABLE operations ADD COLUMN variant text CHECK (length(variant) BETWEEN 1 AND 64);

-- The explorer lists an account's charges in order and filters its entries by time.
CREATE INDEX operations_charges ON operations (account_id, operation_id) WHERE kind IN ('charge', 'hold_charge');
CREATE INDEX ledger_entries_account_time ON ledger_entries (account_id, occurred_at);

-- The draws say each grant's source too, so that a charge's breakdown needs no second look at its grants.
DROP FUNCTION credits_plan_draws;
CREATE FUNCTION credits_plan_draws(account_key text, feature_id text, wanted bigint, instant timestamptz,
    OUT grant_ids bigint[], OUT amounts bigint[], OUT sources text[], OUT covered bigint, OUT free_for_feature bigint, OUT available bigint, OUT period_allowance bigint)
  LANGUAGE plpgsql STABLE AS $$
DECLARE
  g record;
BEGIN
  grant_ids := '{}'; amounts := '{}'; sources := '{}'; covered := 0; free_for_feature := 0; available := 0; period_allowance := 0;
  FOR g IN SELECT * FROM grants_in_force(account_key, instant) r ORDER BY r.spend_rank LOOP
    available := available + g.free;
    IF g.source = 'allowance' THEN
      period_allowance := period_allowance + g.amount;
    END IF;
    IF g.free > 0 AND grant_pays_for(g.features, feature_id) THEN
      free_for_feature := free_for_feature + g.free;
      IF covered < wanted THEN
        grant_ids := grant_ids || g.grant_id;
        sources := sources || g.source;
        amounts := amounts || least(g.free, wanted - covered);
        covered := covered + least(g.free, wanted - covered);
      END IF;
    END IF;
  END LOOP;
END;
$$;

-- A grant's status at an instant, the one home of the rule: revoked (written off before it took
-- effect), pending (not in effect yet), spent (nothing left and nothing written off), expired (past
-- its expiry, or written off), else active. `written_off` is what its expire entries took.
CREATE FUNCTION grant_revoked(expired_at timestamptz, effective_at timestamptz) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN expired_at IS NOT NULL AND expired_at < effective_at;
CREATE FUNCTION grant_status(expired_at timestamptz, effective_at timestamptz, expires_at timestamptz, remaining bigint, written_off bigint, at_instant timestamptz)
  RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE
    WHEN grant_revoked(expired_at, effective_at) THEN 'revoked'
    WHEN effective_at > at_instant THEN 'pending'
    WHEN remaining = 0 AND written_off = 0 THEN 'spent'
    WHEN NOT grant_in_force(expired_at, effective_at, expires_at, at_instant) THEN 'expired'
    ELSE 'active'
  END;

UPDATE operations o
   SET result = o.result || jsonb_build_object(
         'occurredAt', credits_iso(o.occurred_at),
         'grants', (SELECT coalesce(jsonb_agg(jsonb_build_object('grantId', e.grant_id::text, 'source', g.source, 'credits', -e.amount) ORDER BY e.entry_id), '[]'::jsonb)
                      FROM ledger_entries e JOIN grants g ON g.grant_id = e.grant_id
                     WHERE e.operation_id = o.operation_id AND e.kind = 'charge'))
 WHERE o.kind = 'charge' AND o.result IS NOT NULL AND NOT (o.result ? 'grants');

CREATE OR REPLACE FUNCTION credits_charge_one(item jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  account accounts%ROWTYPE;
  instant timestamptz := (item->>'now')::timestamptz;
  feature_id text := item->>'feature';
  spender text := item->>'userId';
  previous jsonb;
  verdict jsonb;
  new_operation_id bigint;
  subjects text[];
  billing_group text := item->>'subjectGroup';
  window_days int := (item->>'windowDays')::int;
  billable bigint;
  charged bigint;
  draws record;
  available_after bigint;
  result jsonb;
  breakdown jsonb;
BEGIN
  SELECT * INTO account FROM accounts a WHERE a.account_id = item->>'accountId';
  IF NOT FOUND THEN
    RETURN jsonb_build_object('refused', 'UNKNOWN_ACCOUNT', 'details', jsonb_build_object('accountId', item->>'accountId'));
  END IF;
  previous := credits_replay(account.account_id, item);
  IF previous IS NOT NULL THEN
    RETURN previous;
  END IF;
  verdict := credits_spend_check(account, feature_id, ARRAY(SELECT jsonb_array_elements_text(item->'plans')), spender, instant);
  IF verdict ? 'refused' THEN
    RETURN verdict;
  END IF;

  IF jsonb_typeof(item->'subjectIds') = 'array' THEN
    subjects := ARRAY(SELECT DISTINCT s FROM jsonb_array_elements_text(item->'subjectIds') s);
    -- Under the account's lock, what is counted here is what is claimed below.
    billable := credits_billable_subjects(account.account_id, billing_group, subjects, window_days, instant);
  ELSE
    billable := (item->>'quantity')::bigint;
  END IF;
  charged := (item->>'unitPrice')::bigint * billable;

  SELECT * INTO draws FROM credits_plan_draws(account.account_id, feature_id, charged, instant);
  IF draws.covered < charged THEN
    RETURN jsonb_build_object('refused', 'INSUFFICIENT_CREDITS', 'details', jsonb_build_object('needed', charged, 'available', draws.free_for_feature, 'feature', feature_id));
  END IF;

  -- Every check passed: now the writes.
  new_operation_id := nextval('operations_operation_id_seq');
  available_after := draws.available - charged;
  SELECT coalesce(jsonb_agg(jsonb_build_object('grantId', d.grant_id::text, 'source', d.source, 'credits', d.amount) ORDER BY d.ord), '[]'::jsonb)
    INTO breakdown
    FROM unnest(draws.grant_ids, draws.amounts, draws.sources) WITH ORDINALITY AS d (grant_id, amount, source, ord);
  result := jsonb_build_object(
    'chargeId', new_operation_id::text,
    'feature', feature_id,
    'credits', charged,
    'billableQuantity', billable,
    'freeQuantity', CASE WHEN subjects IS NULL THEN 0 ELSE jsonb_array_length(item->'subjectIds') - billable END,
    'balance', jsonb_build_object('available', available_after),
    'occurredAt', credits_iso(instant),
    'grants', breakdown);
  IF verdict IS NOT NULL THEN
    PERFORM credits_register_spender(account.account_id, spender, instant);
  END IF;
  IF subjects IS NOT NULL AND window_days IS NOT NULL AND billable > 0 THEN
    INSERT INTO billed_subjects AS b (account_id, subject_group, subject_id, billed_at, operation_id)
    SELECT account.account_id, billing_group, s, instant, new_operation_id FROM unnest(subjects) s
    ON CONFLICT ON CONSTRAINT billed_subjects_pkey DO UPDATE
       SET billed_at = EXCLUDED.billed_at, operation_id = EXCLUDED.operation_id
     WHERE b.billed_at <= instant - make_interval(days => window_days);
  END IF;
  INSERT INTO operations (operation_id, account_id, origin, idempotency_key, kind, request_hash, user_id, feature, variant, credits, quantity, result, occurred_at)
    OVERRIDING SYSTEM VALUE
    VALUES (new_operation_id, account.account_id, item->>'origin', item->>'idempotencyKey', 'charge', item->>'requestHash', spender, feature_id, item->>'variant', charged, billable, result, instant);
  INSERT INTO ledger_entries (account_id, operation_id, grant_id, kind, amount, held_change, occurred_at)
  SELECT account.account_id, new_operation_id, d.grant_id, 'charge', -d.amount, 0, instant FROM unnest(draws.grant_ids, draws.amounts) AS d (grant_id, amount);
  PERFORM credits_balance_alerts(account, draws.available, available_after, draws.period_allowance, new_operation_id, instant);
  RETURN jsonb_build_object('ok', result || '{"replayed": false}');
END;
$$;

-- Down Migration
-- The function as 1730000000007 created it; stored results keep their two extra fields (harmless).
CREATE OR REPLACE FUNCTION credits_charge_one(item jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  account accounts%ROWTYPE;
  instant timestamptz := (item->>'now')::timestamptz;
  feature_id text := item->>'feature';
  spender text := item->>'userId';
  previous jsonb;
  verdict jsonb;
  new_operation_id bigint;
  subjects text[];
  billing_group text := item->>'subjectGroup';
  window_days int := (item->>'windowDays')::int;
  billable bigint;
  charged bigint;
  draws record;
  available_after bigint;
  result jsonb;
BEGIN
  SELECT * INTO account FROM accounts a WHERE a.account_id = item->>'accountId';
  IF NOT FOUND THEN
    RETURN jsonb_build_object('refused', 'UNKNOWN_ACCOUNT', 'details', jsonb_build_object('accountId', item->>'accountId'));
  END IF;
  previous := credits_replay(account.account_id, item);
  IF previous IS NOT NULL THEN
    RETURN previous;
  END IF;
  verdict := credits_spend_check(account, feature_id, ARRAY(SELECT jsonb_array_elements_text(item->'plans')), spender, instant);
  IF verdict ? 'refused' THEN
    RETURN verdict;
  END IF;

  IF jsonb_typeof(item->'subjectIds') = 'array' THEN
    subjects := ARRAY(SELECT DISTINCT s FROM jsonb_array_elements_text(item->'subjectIds') s);
    -- Under the account's lock, what is counted here is what is claimed below.
    billable := credits_billable_subjects(account.account_id, billing_group, subjects, window_days, instant);
  ELSE
    billable := (item->>'quantity')::bigint;
  END IF;
  charged := (item->>'unitPrice')::bigint * billable;

  SELECT * INTO draws FROM credits_plan_draws(account.account_id, feature_id, charged, instant);
  IF draws.covered < charged THEN
    RETURN jsonb_build_object('refused', 'INSUFFICIENT_CREDITS', 'details', jsonb_build_object('needed', charged, 'available', draws.free_for_feature, 'feature', feature_id));
  END IF;

  -- Every check passed: now the writes.
  new_operation_id := nextval('operations_operation_id_seq');
  available_after := draws.available - charged;
  result := jsonb_build_object(
    'chargeId', new_operation_id::text,
    'feature', feature_id,
    'credits', charged,
    'billableQuantity', billable,
    'freeQuantity', CASE WHEN subjects IS NULL THEN 0 ELSE jsonb_array_length(item->'subjectIds') - billable END,
    'balance', jsonb_build_object('available', available_after));
  IF verdict IS NOT NULL THEN
    PERFORM credits_register_spender(account.account_id, spender, instant);
  END IF;
  IF subjects IS NOT NULL AND window_days IS NOT NULL AND billable > 0 THEN
    INSERT INTO billed_subjects AS b (account_id, subject_group, subject_id, billed_at, operation_id)
    SELECT account.account_id, billing_group, s, instant, new_operation_id FROM unnest(subjects) s
    ON CONFLICT ON CONSTRAINT billed_subjects_pkey DO UPDATE
       SET billed_at = EXCLUDED.billed_at, operation_id = EXCLUDED.operation_id
     WHERE b.billed_at <= instant - make_interval(days => window_days);
  END IF;
  INSERT INTO operations (operation_id, account_id, origin, idempotency_key, kind, request_hash, user_id, feature, credits, quantity, result, occurred_at)
    OVERRIDING SYSTEM VALUE
    VALUES (new_operation_id, account.account_id, item->>'origin', item->>'idempotencyKey', 'charge', item->>'requestHash', spender, feature_id, charged, billable, result, instant);
  INSERT INTO ledger_entries (account_id, operation_id, grant_id, kind, amount, held_change, occurred_at)
  SELECT account.account_id, new_operation_id, d.grant_id, 'charge', -d.amount, 0, instant FROM unnest(draws.grant_ids, draws.amounts) AS d (grant_id, amount);
  PERFORM credits_balance_alerts(account, draws.available, available_after, draws.period_allowance, new_operation_id, instant);
  RETURN jsonb_build_object('ok', result || '{"replayed": false}');
END;
$$;
DROP FUNCTION grant_status, grant_revoked;
DROP FUNCTION credits_plan_draws;
CREATE FUNCTION credits_plan_draws(account_key text, feature_id text, wanted bigint, instant timestamptz,
    OUT grant_ids bigint[], OUT amounts bigint[], OUT covered bigint, OUT free_for_feature bigint, OUT available bigint, OUT period_allowance bigint)
  LANGUAGE plpgsql STABLE AS $$
DECLARE
  g record;
BEGIN
  grant_ids := '{}'; amounts := '{}'; covered := 0; free_for_feature := 0; available := 0; period_allowance := 0;
  FOR g IN SELECT * FROM grants_in_force(account_key, instant) r ORDER BY r.spend_rank LOOP
    available := available + g.free;
    IF g.source = 'allowance' THEN
      period_allowance := period_allowance + g.amount;
    END IF;
    IF g.free > 0 AND grant_pays_for(g.features, feature_id) THEN
      free_for_feature := free_for_feature + g.free;
      IF covered < wanted THEN
        grant_ids := grant_ids || g.grant_id;
        amounts := amounts || least(g.free, wanted - covered);
        covered := covered + least(g.free, wanted - covered);
      END IF;
    END IF;
  END LOOP;
END;
$$;

DROP INDEX ledger_entries_account_time;
DROP INDEX operations_charges;
ALTER TABLE operations DROP COLUMN variant;
