-- Up Migration

-- A batch of charges writes once. Each charge is still decided in arrival order, against the grants
-- as the charges before it in the batch left them: what those took from each grant is counted, not
-- yet written. The batch writes every decided charge (operations, then entries) in two statements
-- when it ends, or earlier, before an item that reads what they write (a job's flush, or a key
-- already charged in this batch). The entry trigger applies a statement's entries to their grants
-- once per grant.
--
-- Why: every INSERT or UPDATE statement prepares its table's CHECK constraints again (PostgreSQL
-- reads them from the catalog's text form on each execution) and runs its foreign-key triggers. A
-- charge ran three such statements: its operation, its entry, and the trigger's UPDATE of the grant
-- (which, once the grant row is new in this transaction, also re-checks the grant's two foreign
-- keys). Profiled on ledger.charge.hot: 21 % of the server's CPU was spent parsing constraints.

-- Entries are applied once per statement: one UPDATE per grant they name, the validity window
-- checked for each spending entry at its own instant, and hold allocations kept in step.
DROP TRIGGER ledger_entries_apply_to_grants ON ledger_entries;
CREATE OR REPLACE FUNCTION ledger_entries_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bad record;
  unspendable_grant bigint;
  unspendable_at timestamptz;
  touches_holds boolean;
BEGIN
  WITH change AS (
         SELECT a.grant_id, sum(a.amount) AS amount, sum(a.held_change) AS held_change FROM added a GROUP BY a.grant_id),
       applied AS (
         UPDATE grants g SET remaining = g.remaining + c.amount, held = g.held + c.held_change
           FROM change c WHERE g.grant_id = c.grant_id
         RETURNING g.grant_id, g.expired_at, g.effective_at, g.expires_at),
       unspendable AS (
         SELECT a.grant_id, a.occurred_at FROM added a JOIN applied g USING (grant_id)
          WHERE a.kind IN ('charge', 'hold', 'refund') AND NOT grant_in_force(g.expired_at, g.effective_at, g.expires_at, a.occurred_at)
          LIMIT 1)
  SELECT u.grant_id, u.occurred_at, (SELECT bool_or(a.hold_id IS NOT NULL) FROM added a)
    INTO unspendable_grant, unspendable_at, touches_holds
    FROM (VALUES (1)) AS one (n) LEFT JOIN unspendable u ON true;
  IF unspendable_grant IS NOT NULL THEN
    RAISE EXCEPTION 'grant % is not spendable at %', unspendable_grant, unspendable_at USING ERRCODE = 'check_violation';
  END IF;
  IF NOT coalesce(touches_holds, false) THEN
    RETURN NULL;
  END IF;
  SELECT a.hold_id INTO bad FROM added a JOIN holds h USING (hold_id) WHERE a.kind = 'hold' AND h.released_at IS NOT NULL LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'hold % is released', bad.hold_id USING ERRCODE = 'check_violation';
  END IF;
  INSERT INTO hold_allocations AS h (hold_id, grant_id, held)
  SELECT a.hold_id, a.grant_id, sum(a.held_change) FROM added a WHERE a.hold_id IS NOT NULL AND a.held_change > 0 GROUP BY a.hold_id, a.grant_id
  ON CONFLICT (hold_id, grant_id) DO UPDATE SET held = h.held + EXCLUDED.held;
  WITH release AS (
         SELECT a.hold_id, a.grant_id, sum(a.held_change) AS held_change FROM added a
          WHERE a.hold_id IS NOT NULL AND a.held_change < 0 GROUP BY a.hold_id, a.grant_id),
       applied AS (
         UPDATE hold_allocations h SET held = h.held + r.held_change
           FROM release r WHERE h.hold_id = r.hold_id AND h.grant_id = r.grant_id
         RETURNING h.hold_id, h.grant_id)
  SELECT r.hold_id, r.grant_id INTO bad FROM release r
   WHERE NOT EXISTS (SELECT 1 FROM applied p WHERE p.hold_id = r.hold_id AND p.grant_id = r.grant_id) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'hold % has nothing earmarked on grant %', bad.hold_id, bad.grant_id USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER ledger_entries_apply_to_grants AFTER INSERT ON ledger_entries
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_apply();

-- The draws see what the batch's unwritten charges took: `drawn_grant_ids` and `drawn_amounts`
-- name each grant once, with the credits taken from it.
DROP FUNCTION credits_plan_draws(text, text, bigint, timestamptz);
CREATE FUNCTION credits_plan_draws(account_key text, feature_id text, wanted bigint, instant timestamptz,
    drawn_grant_ids bigint[] DEFAULT '{}', drawn_amounts bigint[] DEFAULT '{}',
    OUT grant_ids bigint[], OUT amounts bigint[], OUT sources text[], OUT covered bigint, OUT free_for_feature bigint, OUT available bigint, OUT period_allowance bigint)
  LANGUAGE plpgsql STABLE AS $$
DECLARE
  g record;
BEGIN
  grant_ids := '{}'; amounts := '{}'; sources := '{}'; covered := 0; free_for_feature := 0; available := 0; period_allowance := 0;
  FOR g IN SELECT r.grant_id, r.source, r.amount, r.features, r.free - coalesce(d.amount, 0) AS free
             FROM grants_in_force(account_key, instant) r
             LEFT JOIN unnest(drawn_grant_ids, drawn_amounts) AS d (grant_id, amount) USING (grant_id)
            ORDER BY r.spend_rank LOOP
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

-- A charge decided and not written yet: its operation row and the credits it draws from each grant.
CREATE TYPE credits_unwritten_charge AS (
  operation_id bigint, account_id text, origin text, idempotency_key text, request_hash text, user_id text, feature text,
  variant text, credits bigint, quantity bigint, result jsonb, occurred_at timestamptz, grant_ids bigint[], amounts bigint[]);

-- Writes decided charges, in their order: their operations, then their entries (one statement each).
CREATE FUNCTION credits_write_charges(charges credits_unwritten_charge[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF cardinality(charges) = 0 THEN
    RETURN;
  END IF;
  INSERT INTO operations (operation_id, account_id, origin, idempotency_key, kind, request_hash, user_id, feature, variant, credits, quantity, result, occurred_at)
    OVERRIDING SYSTEM VALUE
  SELECT c.operation_id, c.account_id, c.origin, c.idempotency_key, 'charge', c.request_hash, c.user_id, c.feature, c.variant, c.credits, c.quantity, c.result, c.occurred_at
    FROM unnest(charges) WITH ORDINALITY AS c
   ORDER BY c.ordinality;
  INSERT INTO ledger_entries (account_id, operation_id, grant_id, kind, amount, held_change, occurred_at)
  SELECT c.account_id, c.operation_id, d.grant_id, 'charge', -d.amount, 0, c.occurred_at
    FROM unnest(charges) WITH ORDINALITY AS c, unnest(c.grant_ids, c.amounts) WITH ORDINALITY AS d (grant_id, amount, n)
   ORDER BY c.ordinality, d.n;
END;
$$;

-- One charge, under its account's lock (the caller holds it): replay or conflict by key, gating,
-- subjects inside the re-export window for free, draws in spending order (after what the batch's
-- unwritten charges drew), balance alerts. Every check comes before the first write, so a refused
-- charge writes nothing. `outcome` is {"refused": code, "details": {...}} or {"ok": result};
-- `unwritten` is the new charge for credits_write_charges (null when nothing is to be written).
DROP FUNCTION credits_charge_one(jsonb);
CREATE FUNCTION credits_charge_one(item jsonb, drawn_grant_ids bigint[], drawn_amounts bigint[], OUT outcome jsonb, OUT unwritten credits_unwritten_charge)
  LANGUAGE plpgsql AS $$
DECLARE
  account accounts%ROWTYPE;
  instant timestamptz := (item->>'now')::timestamptz;
  feature_id text := item->>'feature';
  spender text := item->>'userId';
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
    outcome := jsonb_build_object('refused', 'UNKNOWN_ACCOUNT', 'details', jsonb_build_object('accountId', item->>'accountId'));
    RETURN;
  END IF;
  outcome := credits_replay(account.account_id, item);
  IF outcome IS NOT NULL THEN
    RETURN;
  END IF;
  verdict := credits_spend_check(account, feature_id, ARRAY(SELECT jsonb_array_elements_text(item->'plans')), spender, instant);
  IF verdict ? 'refused' THEN
    outcome := verdict;
    RETURN;
  END IF;

  IF jsonb_typeof(item->'subjectIds') = 'array' THEN
    subjects := ARRAY(SELECT DISTINCT s FROM jsonb_array_elements_text(item->'subjectIds') s);
    -- Under the account's lock, what is counted here is what is claimed below.
    billable := credits_billable_subjects(account.account_id, billing_group, subjects, window_days, instant);
  ELSE
    billable := (item->>'quantity')::bigint;
  END IF;
  charged := (item->>'unitPrice')::bigint * billable;

  SELECT * INTO draws FROM credits_plan_draws(account.account_id, feature_id, charged, instant, drawn_grant_ids, drawn_amounts);
  IF draws.covered < charged THEN
    outcome := jsonb_build_object('refused', 'INSUFFICIENT_CREDITS', 'details', jsonb_build_object('needed', charged, 'available', draws.free_for_feature, 'feature', feature_id));
    RETURN;
  END IF;

  -- Every check passed: now the writes (the operation and its entries at the end of the batch).
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
  unwritten := ROW(new_operation_id, account.account_id, item->>'origin', item->>'idempotencyKey', item->>'requestHash', spender, feature_id,
                   item->>'variant', charged, billable, result, instant, draws.grant_ids, draws.amounts)::credits_unwritten_charge;
  PERFORM credits_balance_alerts(account, draws.available, available_after, draws.period_allowance, new_operation_id, instant);
  outcome := jsonb_build_object('ok', result || '{"replayed": false}');
END;
$$;

-- The batch: the jobs' rows, then the accounts' rows, each in id order (the same order as single
-- transactions, which take the job's row before its account's), then each item in arrival order; a
-- refused one writes nothing and leaves the others alone. One outcome per item, in order. An
-- unexpected error fails the whole batch (the caller then runs its items one at a time).
CREATE OR REPLACE FUNCTION credits_charge_batch(items jsonb, prices jsonb) RETURNS jsonb LANGUAGE plpgsql
  SET enable_seqscan = off AS $$
DECLARE
  item jsonb;
  item_key text;
  outcomes jsonb[] := '{}';
  decided record;
  unwritten credits_unwritten_charge[] := '{}';
  -- account/origin/key of each unwritten charge: neither an account id nor an origin holds a '/'.
  unwritten_keys text[] := '{}';
  drawn_grant_ids bigint[] := '{}';
  drawn_amounts bigint[] := '{}';
  slot int;
  draw int;
BEGIN
  IF items @> '[{"kind": "job_results"}]' THEN
    PERFORM 1 FROM jobs j
     WHERE j.job_id IN (SELECT DISTINCT i->>'jobId' FROM jsonb_array_elements(items) i WHERE i->>'kind' = 'job_results')
     ORDER BY j.job_id FOR UPDATE;
  END IF;
  PERFORM 1 FROM accounts a
   WHERE a.account_id IN (SELECT DISTINCT i->>'accountId' FROM jsonb_array_elements(items) i)
   ORDER BY a.account_id FOR NO KEY UPDATE;
  FOR item IN SELECT value FROM jsonb_array_elements(items) LOOP
    item_key := concat_ws('/', item->>'accountId', item->>'origin', item->>'idempotencyKey');
    IF cardinality(unwritten) > 0 AND (item->>'kind' <> 'charge' OR item_key = ANY (unwritten_keys)) THEN
      PERFORM credits_write_charges(unwritten);
      unwritten := '{}'; unwritten_keys := '{}'; drawn_grant_ids := '{}'; drawn_amounts := '{}';
    END IF;
    IF item->>'kind' = 'charge' THEN
      SELECT * INTO decided FROM credits_charge_one(item, drawn_grant_ids, drawn_amounts);
      outcomes := array_append(outcomes, decided.outcome);
      IF (decided.unwritten).operation_id IS NOT NULL THEN
        unwritten := array_append(unwritten, decided.unwritten);
        unwritten_keys := array_append(unwritten_keys, item_key);
        FOR draw IN 1 .. cardinality((decided.unwritten).grant_ids) LOOP
          slot := array_position(drawn_grant_ids, (decided.unwritten).grant_ids[draw]);
          IF slot IS NULL THEN
            drawn_grant_ids := array_append(drawn_grant_ids, (decided.unwritten).grant_ids[draw]);
            drawn_amounts := array_append(drawn_amounts, (decided.unwritten).amounts[draw]);
          ELSE
            drawn_amounts[slot] := drawn_amounts[slot] + (decided.unwritten).amounts[draw];
          END IF;
        END LOOP;
      END IF;
    ELSIF item->>'kind' = 'job_results' THEN
      outcomes := array_append(outcomes, credits_store_job_results(item, prices));
    ELSE
      RAISE EXCEPTION 'invariant: a batch item of unknown kind %', item->>'kind';
    END IF;
  END LOOP;
  PERFORM credits_write_charges(unwritten);
  RETURN to_jsonb(outcomes);
END;
$$;

-- Down Migration
CREATE OR REPLACE FUNCTION credits_charge_batch(items jsonb, prices jsonb) RETURNS jsonb LANGUAGE plpgsql
  SET enable_seqscan = off AS $$
DECLARE
  item jsonb;
  outcomes jsonb[] := '{}';
BEGIN
  PERFORM 1 FROM jobs j
   WHERE j.job_id IN (SELECT DISTINCT i->>'jobId' FROM jsonb_array_elements(items) i WHERE i->>'kind' = 'job_results')
   ORDER BY j.job_id FOR UPDATE;
  PERFORM 1 FROM accounts a
   WHERE a.account_id IN (SELECT DISTINCT i->>'accountId' FROM jsonb_array_elements(items) i)
   ORDER BY a.account_id FOR NO KEY UPDATE;
  FOR item IN SELECT value FROM jsonb_array_elements(items) LOOP
    outcomes := array_append(outcomes, CASE item->>'kind'
      WHEN 'charge' THEN credits_charge_one(item)
      WHEN 'job_results' THEN credits_store_job_results(item, prices)
    END);
    IF outcomes[cardinality(outcomes)] IS NULL THEN
      RAISE EXCEPTION 'invariant: a batch item of unknown kind %', item->>'kind';
    END IF;
  END LOOP;
  RETURN to_jsonb(outcomes);
END;
$$;
DROP FUNCTION credits_charge_one(jsonb, bigint[], bigint[]);
DROP FUNCTION credits_write_charges;
DROP TYPE credits_unwritten_charge;
DROP FUNCTION credits_plan_draws(text, text, bigint, timestamptz, bigint[], bigint[]);
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
    billable := credits_billable_subjects(account.account_id, billing_group, subjects, window_days, instant);
  ELSE
    billable := (item->>'quantity')::bigint;
  END IF;
  charged := (item->>'unitPrice')::bigint * billable;
  SELECT * INTO draws FROM credits_plan_draws(account.account_id, feature_id, charged, instant);
  IF draws.covered < charged THEN
    RETURN jsonb_build_object('refused', 'INSUFFICIENT_CREDITS', 'details', jsonb_build_object('needed', charged, 'available', draws.free_for_feature, 'feature', feature_id));
  END IF;
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
DROP TRIGGER ledger_entries_apply_to_grants ON ledger_entries;
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
CREATE TRIGGER ledger_entries_apply_to_grants AFTER INSERT ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_entries_apply();
