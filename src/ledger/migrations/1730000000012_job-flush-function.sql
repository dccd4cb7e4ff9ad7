-- Up Migration

-- A job's flush of results in one call, so that it shares a batch (one transaction, one lock of its
-- account) with the account's charges: every result not stored yet is stored, and the chargeable
-- ones are charged on the job's hold in the same transaction. A result stored by an earlier attempt
-- is skipped and never charged again; chargeable results the hold cannot pay for are not stored
-- (they stay pending). The charge is keyed by the job and its first record, and its request (hold,
-- quantity) is hashed here, where it is formed. `prices` maps each feature to its unit price (micros).
-- Answers {"ok": {stored, verified, failed, notFound, credits, unpaid, cancelled}} or {"refused": ...}.
CREATE FUNCTION credits_store_job_results(item jsonb, prices jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  job jobs%ROWTYPE;
  instant timestamptz := (item->>'now')::timestamptz;
  chargeable text[] := ARRAY(SELECT jsonb_array_elements_text(item->'chargeableOutcomes'));
  pending int[];
  to_charge int[];
  first_record text;
  request jsonb;
  charge jsonb;
  charge_id bigint;
  credits bigint := 0;
  unpaid bigint := 0;
  stored bigint;
  failed bigint;
BEGIN
  -- The job row first, as every other job transaction takes it: its counters change below.
  SELECT * INTO job FROM jobs j WHERE j.job_id = item->>'jobId' FOR UPDATE;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('refused', 'UNKNOWN_JOB', 'details', jsonb_build_object('jobId', item->>'jobId'));
  END IF;
  IF job.cancel_requested_at IS NOT NULL THEN
    RETURN jsonb_build_object('ok', jsonb_build_object('stored', 0, 'verified', 0, 'failed', 0, 'notFound', 0, 'credits', 0, 'unpaid', 0, 'cancelled', true));
  END IF;

  pending := ARRAY(
    SELECT j.seq FROM job_records j
     WHERE j.job_id = job.job_id AND j.outcome IS NULL
       AND j.seq IN (SELECT (r->>'seq')::int FROM jsonb_array_elements(item->'results') r)
     ORDER BY j.seq FOR UPDATE);
  to_charge := ARRAY(
    SELECT (r->>'seq')::int FROM jsonb_array_elements(item->'results') r
     WHERE (r->>'seq')::int = ANY (pending) AND r->>'outcome' = ANY (chargeable) ORDER BY (r->>'seq')::int);

  IF cardinality(to_charge) > 0 THEN
    IF job.hold_id IS NULL THEN
      RAISE EXCEPTION 'invariant: job % has chargeable results but no hold', job.job_id;
    END IF;
    SELECT r->>'recordId' INTO first_record FROM jsonb_array_elements(item->'results') r WHERE (r->>'seq')::int = to_charge[1] LIMIT 1;
    request := jsonb_build_object('holdId', job.hold_id::text, 'quantity', cardinality(to_charge));
    charge := credits_hold_charge(jsonb_build_object(
      'accountId', job.account_id, 'holdId', job.hold_id::text, 'quantity', cardinality(to_charge),
      'idempotencyKey', job.job_id || ':' || first_record, 'origin', 'engine',
      'requestHash', encode(sha256(convert_to('hold_charge' || E'\n' || request::text, 'UTF8')), 'hex'),
      'now', item->>'now'), prices);
    IF charge ? 'ok' THEN
      charge_id := (charge->'ok'->>'chargeId')::bigint;
      credits := (charge->'ok'->>'credits')::bigint;
    ELSIF charge->>'refused' = 'INSUFFICIENT_CREDITS' THEN
      unpaid := cardinality(to_charge);
      to_charge := '{}';
    ELSE
      RETURN charge;
    END IF;
  END IF;

  -- Stored: every pending result that is not chargeable, and the chargeable ones just paid for.
  WITH written AS (
    UPDATE job_records j
       SET outcome = r.outcome, data = coalesce(r.data, 'null'::jsonb), processed_at = instant,
           charged = CASE WHEN r.seq = ANY (to_charge) THEN (prices->>job.feature)::bigint ELSE 0 END,
           operation_id = CASE WHEN r.seq = ANY (to_charge) THEN charge_id END
      FROM jsonb_to_recordset(item->'results') AS r (seq int, outcome text, data jsonb)
     WHERE j.job_id = job.job_id AND j.seq = r.seq AND r.seq = ANY (pending)
       AND (r.seq = ANY (to_charge) OR NOT (r.outcome = ANY (chargeable)))
    RETURNING r.outcome
  )
  SELECT count(*), count(*) FILTER (WHERE w.outcome = item->>'failedOutcome') INTO stored, failed FROM written w;
  IF stored > 0 THEN
    UPDATE jobs SET processed_count = processed_count + stored, verified_count = verified_count + cardinality(to_charge), failed_count = failed_count + failed
     WHERE job_id = job.job_id;
  END IF;
  RETURN jsonb_build_object('ok', jsonb_build_object(
    'stored', stored, 'verified', cardinality(to_charge), 'failed', failed, 'notFound', stored - cardinality(to_charge) - failed,
    'credits', credits, 'unpaid', unpaid, 'cancelled', false));
END;
$$;

-- A batch of charges and job flushes in one transaction: the jobs of its flushes are locked first,
-- then its accounts, each in one order (no deadlock between batches, nor with a job's own
-- transactions, which take the job's row before its account's), then each item runs in arrival
-- order; a refused one writes nothing and leaves the others alone. One outcome per item, in order.
-- An unexpected error fails the whole batch (the caller then runs its items one at a time).
DROP FUNCTION credits_charge_batch(jsonb);
CREATE FUNCTION credits_charge_batch(items jsonb, prices jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
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

-- Down Migration
DROP FUNCTION credits_charge_batch(jsonb, jsonb);
DROP FUNCTION credits_store_job_results;
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
