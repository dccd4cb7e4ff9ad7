-- Up Migration

-- The spend rules, once, in SQL, and a charge as one call (src/ledger/charges.ts calls it, a batch
-- of charges at a time: src/ledger/group-commit.ts).

-- Validity at an instant: a grant pays (or is earmarked, or takes a refund) at `at` only when it has
-- not been expired or revoked, has taken effect, and has not reached its expiry. Inlined by the planner.
CREATE FUNCTION grant_in_force(expired_at timestamptz, effective_at timestamptz, expires_at timestamptz, at_instant timestamptz)
  RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN expired_at IS NULL AND effective_at <= at_instant AND (expires_at IS NULL OR expires_at > at_instant);

-- An account's grants in force at `at`, ranked in spending order (`spend_rank`, so that a join
-- keeps it): priority (included and trial before purchased), then soonest expiry, then grants
-- restricted to some features (calling credits pay for calls before general credits do, or they
-- would expire unused), then oldest.
CREATE FUNCTION grants_in_force(for_account text, at_instant timestamptz)
  RETURNS TABLE (grant_id bigint, source text, amount bigint, free bigint, features text[], spend_rank bigint) LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT g.grant_id, g.source, g.amount, g.remaining - g.held, g.features,
           row_number() OVER (ORDER BY g.priority, g.expires_at NULLS LAST, g.features IS NULL, g.effective_at, g.grant_id)
      FROM grants g
     WHERE g.account_id = for_account AND g.expired_at IS NULL
       AND grant_in_force(g.expired_at, g.effective_at, g.expires_at, at_instant);
  END;

-- The account's available balance at an instant: every grant in force, net of holds.
CREATE FUNCTION credits_available(account_key text, instant timestamptz) RETURNS bigint LANGUAGE sql STABLE
  RETURN (SELECT coalesce(sum(g.free), 0)::bigint FROM grants_in_force(account_key, instant) g);

-- A grant restricted to some features pays only for those.
CREATE FUNCTION grant_pays_for(features text[], feature text) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN features IS NULL OR feature = ANY (features);

-- Grants that can pay for `feature` at `at`, with something left, in spending order.
CREATE FUNCTION spendable_grants(for_account text, for_feature text, at_instant timestamptz)
  RETURNS TABLE (grant_id bigint, source text, free bigint) LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT g.grant_id, g.source, g.free FROM grants_in_force(for_account, at_instant) g
     WHERE g.free > 0 AND grant_pays_for(g.features, for_feature)
     ORDER BY g.spend_rank;
  END;

-- One UPDATE ... RETURNING instead of a locking read and an update; the released-hold check only
-- for hold entries.
CREATE OR REPLACE FUNCTION ledger_entries_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  g_expired_at timestamptz;
  g_effective_at timestamptz;
  g_expires_at timestamptz;
BEGIN
  UPDATE grants SET remaining = remaining + NEW.amount, held = held + NEW.held_change WHERE grant_id = NEW.grant_id
    RETURNING expired_at, effective_at, expires_at INTO STRICT g_expired_at, g_effective_at, g_expires_at;
  IF NEW.kind IN ('charge', 'hold', 'refund') AND NOT grant_in_force(g_expired_at, g_effective_at, g_expires_at, NEW.occurred_at) THEN
    RAISE EXCEPTION 'grant % is not spendable at %', NEW.grant_id, NEW.occurred_at USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.kind = 'hold' AND EXISTS (SELECT 1 FROM holds WHERE hold_id = NEW.hold_id AND released_at IS NOT NULL) THEN
    RAISE EXCEPTION 'hold % is released', NEW.hold_id USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.hold_id IS NOT NULL AND NEW.held_change > 0 THEN
    INSERT INTO hold_allocations AS a (hold_id, grant_id, held) VALUES (NEW.hold_id, NEW.grant_id, NEW.held_change)
      ON CONFLICT (hold_id, grant_id) DO UPDATE SET held = a.held + EXCLUDED.held;
  ELSIF NEW.hold_id IS NOT NULL AND NEW.held_change < 0 THEN
    UPDATE hold_allocations SET held = held + NEW.held_change WHERE hold_id = NEW.hold_id AND grant_id = NEW.grant_id;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'hold % has nothing earmarked on grant %', NEW.hold_id, NEW.grant_id USING ERRCODE = 'check_violation';
    END IF;
  END IF;
  RETURN NEW;
END;
$$;

-- A charge writes its entries and subject claims before its operation row, which it inserts once,
-- with its result: the references to it are checked when the transaction commits.
ALTER TABLE ledger_entries ALTER CONSTRAINT ledger_entries_operation_id_account_id_fkey DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE billed_subjects ALTER CONSTRAINT billed_subjects_operation_id_account_id_fkey DEFERRABLE INITIALLY DEFERRED;

-- Idempotency, the rule once: an operation's key (per account and origin) with the same request
-- replays its first result, with another request it is a conflict; null when the key is new.
CREATE FUNCTION credits_replay(account_key text, item jsonb) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
  previous record;
BEGIN
  SELECT o.kind, o.request_hash, o.result INTO previous FROM operations o
   WHERE o.account_id = account_key AND o.origin = item->>'origin' AND o.idempotency_key = item->>'idempotencyKey';
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF previous.request_hash <> item->>'requestHash' OR previous.result IS NULL THEN
    RETURN jsonb_build_object('refused', 'IDEMPOTENCY_CONFLICT', 'details', jsonb_build_object('idempotencyKey', item->>'idempotencyKey', 'previousKind', previous.kind));
  END IF;
  RETURN jsonb_build_object('ok', previous.result || '{"replayed": true}');
END;
$$;

-- Every operation on an account takes its row lock first (a batch takes its accounts' locks in id
-- order): that serializes an account's balance changes. Null once locked, or the refusal.
CREATE FUNCTION credits_lock(account_key text) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM accounts a WHERE a.account_id = account_key FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('refused', 'UNKNOWN_ACCOUNT', 'details', jsonb_build_object('accountId', account_key));
  END IF;
  RETURN NULL;
END;
$$;

-- Refusals are raised with SQLSTATE CR001, the code as message and the details (amounts in micros)
-- as JSON; src/ledger/refusals.ts turns them into LedgerErrors.
CREATE FUNCTION credits_refuse(code text, details jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'CR001', MESSAGE = code, DETAIL = details::text;
END;
$$;

-- The contract in force at an instant: the latest whose effective_from is at or before it (ties go
-- to the later contract); none before the first (src/ledger/contracts.ts reads it too).
CREATE FUNCTION contract_in_force(for_account text, at_instant timestamptz)
  RETURNS SETOF account_contracts LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT * FROM account_contracts c
     WHERE c.account_id = for_account AND c.effective_from <= at_instant
     ORDER BY c.effective_from DESC, c.contract_id DESC LIMIT 1;
  END;

-- Gating, known users and the per-user switch, for a spend, a reservation or an estimate: the
-- feature is in the account's plan (`plans`: the plans whose features include it) or among the
-- extra features of the contract in force at `at`; then, given a user, the user is registered and
-- allowed to spend, or unknown to an account that registers unknown users. Writes nothing: answers
-- null when allowed, {"register": true} when allowed once the user is registered, or the refusal
-- {"refused": code, "details": {...}}.
CREATE FUNCTION credits_spend_check(account accounts, feature_id text, plans text[], spender text, at_instant timestamptz)
  RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
  allowed boolean;
BEGIN
  IF NOT (account.plan_id = ANY (plans))
     AND NOT coalesce((SELECT feature_id = ANY (c.extra_features) FROM contract_in_force(account.account_id, at_instant) c), false) THEN
    RETURN jsonb_build_object('refused', 'FEATURE_NOT_IN_PLAN', 'details', jsonb_build_object('feature', feature_id, 'planId', account.plan_id));
  END IF;
  IF spender IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT u.credits_allowed INTO allowed FROM account_users u WHERE u.account_id = account.account_id AND u.user_id = spender;
  IF NOT FOUND THEN
    IF account.unknown_users = 'refuse' THEN
      RETURN jsonb_build_object('refused', 'UNKNOWN_USER', 'details', jsonb_build_object('userId', spender, 'accountId', account.account_id));
    END IF;
    RETURN '{"register": true}';
  ELSIF NOT allowed THEN
    RETURN jsonb_build_object('refused', 'CREDITS_DISALLOWED', 'details', jsonb_build_object('userId', spender, 'accountId', account.account_id));
  END IF;
  RETURN NULL;
END;
$$;

-- A spender the account registers on first spend becomes a member allowed to spend.
CREATE FUNCTION credits_register_spender(account_id text, spender text, at_instant timestamptz) RETURNS void LANGUAGE sql
  BEGIN ATOMIC
    INSERT INTO account_users (account_id, user_id, role, credits_allowed, updated_at) VALUES (account_id, spender, 'member', true, at_instant)
      ON CONFLICT ON CONSTRAINT account_users_pkey DO NOTHING;
  END;

-- credits_spend_check for TypeScript callers (reservations, estimates, jobs): raises the refusal,
-- and registers an unknown spender when `register` is set.
CREATE FUNCTION credits_authorize_spend(account accounts, feature_id text, plans text[], spender text, at_instant timestamptz, register boolean)
  RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  verdict jsonb := credits_spend_check(account, feature_id, plans, spender, at_instant);
BEGIN
  IF verdict ? 'refused' THEN
    PERFORM credits_refuse(verdict->>'refused', verdict->'details');
  ELSIF verdict IS NOT NULL AND register THEN
    PERFORM credits_register_spender(account.account_id, spender, at_instant);
  END IF;
END;
$$;

-- How many of `subjects` (distinct) a charge would bill: those not billed in their group less than
-- `window_days` ago (all of them without a window). Claims change only under the account's lock.
CREATE FUNCTION credits_billable_subjects(account_key text, billing_group text, subjects text[], window_days int, instant timestamptz)
  RETURNS bigint LANGUAGE sql STABLE
  RETURN cardinality(subjects) - CASE WHEN window_days IS NULL THEN 0 ELSE (
    SELECT count(*) FROM billed_subjects b
     WHERE b.account_id = account_key AND b.subject_group = billing_group
       AND b.subject_id = ANY (subjects) AND b.billed_at > instant - make_interval(days => window_days)) END;

-- Up to `wanted` credits for `feature_id` from the grants in force, in spending order (what a charge
-- or a hold draws), with what the account has: credits free for the feature, available in all,
-- and the period's allowance (for the balance alerts). One pass over the grants.
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

-- Balance alerts, once per crossing: balance.low when a spend takes the available balance from above
-- the account's threshold (its own, or 10 % of the period's allowance) to at or below it,
-- balance.depleted when it takes it to zero. Spends of one account run under its lock, one after
-- another, so each sees the balance the one before left: concurrent charges cross a threshold once.
CREATE FUNCTION credits_balance_alerts(account accounts, available_before bigint, available_after bigint, period_allowance bigint, spent_by bigint, instant timestamptz)
  RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  threshold bigint := coalesce(account.low_balance_micros, (period_allowance * 10) / 100);
  alert jsonb := jsonb_build_object('available', available_after, 'threshold', threshold, 'operationId', spent_by::text);
BEGIN
  IF available_after >= available_before THEN
    RETURN;
  END IF;
  IF threshold > 0 AND available_before > threshold AND available_after <= threshold THEN
    INSERT INTO domain_events (event_type, account_id, payload, occurred_at) VALUES ('balance.low', account.account_id, alert, instant);
  END IF;
  IF available_after = 0 THEN
    INSERT INTO domain_events (event_type, account_id, payload, occurred_at) VALUES ('balance.depleted', account.account_id, alert, instant);
  END IF;
END;
$$;

-- One charge, under its account's lock (the caller holds it): replay or conflict by key, gating,
-- subjects inside the re-export window for free, draws in spending order, entries, the operation
-- with its result, balance alerts. Every check comes before the first write, so a refused charge
-- writes nothing: it answers {"refused": code, "details": {...}}, a charge {"ok": result}.
CREATE FUNCTION credits_charge_one(item jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
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

-- A batch of charges in one transaction: the accounts are locked in one order (no deadlock between
-- batches), then each charge runs in arrival order; a refused one writes nothing and leaves the
-- others alone. Returns one outcome per item, in order. An unexpected error fails the whole batch
-- (the caller then runs its charges one at a time).
CREATE FUNCTION credits_charge_batch(items jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  item jsonb;
  outcomes jsonb[] := '{}';
BEGIN
  PERFORM 1 FROM accounts a
   WHERE a.account_id IN (SELECT DISTINCT i->>'accountId' FROM jsonb_array_elements(items) i)
   ORDER BY a.account_id FOR NO KEY UPDATE;
  FOR item IN SELECT value FROM jsonb_array_elements(items) LOOP
    outcomes := array_append(outcomes, credits_charge_one(item));
  END LOOP;
  RETURN to_jsonb(outcomes);
END;
$$;

-- Down Migration
DROP FUNCTION credits_charge_batch, credits_charge_one, credits_replay, credits_lock, credits_plan_draws, credits_available, credits_billable_subjects, credits_balance_alerts, credits_authorize_spend, credits_register_spender, credits_spend_check, credits_refuse, contract_in_force, spendable_grants, grant_pays_for, grants_in_force, grant_in_force;
ALTER TABLE ledger_entries ALTER CONSTRAINT ledger_entries_operation_id_account_id_fkey NOT DEFERRABLE;
ALTER TABLE billed_subjects ALTER CONSTRAINT billed_subjects_operation_id_account_id_fkey NOT DEFERRABLE;
