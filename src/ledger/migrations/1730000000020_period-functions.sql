-- Up Migration

-- A period's allowance and its `period.renewed` event were written by up to nine statements from
-- Node (lock, look-up, terms, one grant per allowance, three for the event): an opening wrote two
-- periods, a boundary one, and each statement was a round trip. Here each is one call.

-- `period.renewed` for the period of the account that starts at `starts_at`, once: the
-- allowance grants that take effect at that instant (and were not revoked before it) make up the
-- period's credits. The caller holds the account's lock, so two callers cannot both find the event
-- missing. True when it appended the event; nothing happens when the period has no allowance or
-- already has its event.
CREATE FUNCTION credits_period_renewed(account_key text, starts_at timestamptz, instant timestamptz) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  period_end timestamptz;
  period_credits bigint;
BEGIN
  SELECT max(g.expires_at), sum(g.amount)::bigint INTO period_end, period_credits
    FROM grants g
   WHERE g.account_id = account_key AND g.source = 'allowance' AND g.effective_at = starts_at
     AND (g.expired_at IS NULL OR g.expired_at > starts_at);
  IF period_end IS NULL THEN
    RETURN false;
  END IF;
  IF EXISTS (SELECT 1 FROM domain_events e
              WHERE e.account_id = account_key AND e.event_type = 'period.renewed' AND e.payload->>'periodStart' = credits_iso(starts_at)) THEN
    RETURN false;
  END IF;
  INSERT INTO domain_events (event_type, account_id, payload, occurred_at)
    VALUES ('period.renewed', account_key,
            jsonb_build_object('periodStart', credits_iso(starts_at), 'periodEnd', credits_iso(period_end), 'credits', period_credits), instant);
  RETURN true;
END;
$$;

-- A period's allowance, once per account and period whatever workflow run asks for it
-- (src/ledger/allowances.ts builds the item): under the account's lock, a period that has live
-- allowance grants answers them and writes nothing; otherwise the terms are recorded and each of
-- `grants` (credits_grant items, keyed for `revision`) is granted, and a period already under way
-- gets its `period.renewed` now. A revision that a revoked grant of the period already used answers
-- {"ok": {"freeRevision": n}} and writes nothing: the caller keys its grants for n and calls again.
-- Answers {"ok": {"grantIds": [...]}}; a refusal of a grant is raised (CR001), so nothing is written.
CREATE FUNCTION credits_write_allowance(item jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  early jsonb;
  account_key text := item->>'accountId';
  starts_at timestamptz := (item->>'periodStart')::timestamptz;
  key_pattern text := item->>'keyPattern';
  wanted_revision int := (item->>'revision')::int;
  instant timestamptz := (item->>'now')::timestamptz;
  live text[];
  free_revision int;
  grant_item jsonb;
  outcome jsonb;
  granted text[] := '{}';
BEGIN
  early := credits_lock(account_key);
  IF early IS NOT NULL THEN
    PERFORM credits_refuse(early->>'refused', early->'details');
  END IF;
  SELECT coalesce(array_agg(g.grant_id::text ORDER BY g.grant_id) FILTER (WHERE NOT grant_revoked(g.expired_at, g.effective_at)), '{}'),
         coalesce(max(substring(o.idempotency_key FROM key_pattern)::int) + 1, 0)
    INTO live, free_revision
    FROM grants g JOIN operations o USING (operation_id)
   WHERE g.account_id = account_key AND g.effective_at = starts_at AND g.source = 'allowance' AND o.idempotency_key ~ key_pattern;
  IF cardinality(live) > 0 THEN
    RETURN jsonb_build_object('ok', jsonb_build_object('grantIds', to_jsonb(live)));
  END IF;
  IF free_revision > wanted_revision THEN
    RETURN jsonb_build_object('ok', jsonb_build_object('freeRevision', free_revision));
  END IF;
  INSERT INTO period_terms (account_id, period_start, revision, plan_id, seats, contract_id, allowance_micros, recorded_at)
    VALUES (account_key, starts_at, wanted_revision, item->'terms'->>'planId', (item->'terms'->>'seats')::int, (item->'terms'->>'contractId')::bigint,
            (item->'terms'->>'allowanceMicros')::bigint, instant)
    ON CONFLICT (account_id, period_start, revision) DO NOTHING;
  FOR grant_item IN SELECT value FROM jsonb_array_elements(item->'grants') LOOP
    outcome := credits_grant(grant_item);
    IF outcome ? 'refused' THEN
      PERFORM credits_refuse(outcome->>'refused', outcome->'details');
    END IF;
    granted := granted || (outcome->'ok'->>'grantId');
  END LOOP;
  IF cardinality(granted) > 0 AND starts_at <= instant THEN
    PERFORM credits_period_renewed(account_key, starts_at, instant);
  END IF;
  RETURN jsonb_build_object('ok', jsonb_build_object('grantIds', to_jsonb(granted)));
END;
$$;

-- Down Migration
DROP FUNCTION credits_write_allowance, credits_period_renewed;
