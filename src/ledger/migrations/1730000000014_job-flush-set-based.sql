-- Up Migration

-- A job's flush as set-based statements over its results whose cost follows the flush, not the
-- job: each result finds its record by one probe of the primary key. The version of 0012 kept the
-- pending records and the ones to charge in arrays and tested every row against them with
-- `= ANY (array)`, and left the planner free to read the job's pending records first: right after
-- a job's records arrive, the statistics still say the job has none, so it scanned all of them for
-- every result (measured: a flush of 1,000 results took 2.3 s on a job of 30,000 records; on
-- fresher statistics 89 ms at 30,000 and 308 ms at 100,000, still growing with the job). Here the
-- probes sit in a LATERAL subquery kept apart by OFFSET 0, so that each result drives its own
-- lookup whatever the statistics say, and the UPDATE reaches each record by the row it found.
--
-- Nothing else changes: the job row is locked first (as by every job transaction), so `outcome IS
-- NULL` is the pending set until the transaction ends and the records need no lock of their own; a
-- result stored by an earlier attempt is skipped and never charged again; chargeable results the
-- hold cannot pay for are not stored (they stay pending); the charge is keyed by the job and its
-- first chargeable pending record, its request (hold, quantity) hashed here. Same answers as before.
CREATE OR REPLACE FUNCTION credits_store_job_results(item jsonb, prices jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  job jobs%ROWTYPE;
  instant timestamptz := (item->>'now')::timestamptz;
  chargeable text[] := ARRAY(SELECT jsonb_array_elements_text(item->'chargeableOutcomes'));
  to_charge bigint;
  first_record text;
  paid boolean := false;
  request jsonb;
  charge jsonb;
  charge_id bigint;
  credits bigint := 0;
  unpaid bigint := 0;
  stored bigint;
  failed bigint;
BEGIN
  SELECT * INTO job FROM jobs j WHERE j.job_id = item->>'jobId' FOR UPDATE;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('refused', 'UNKNOWN_JOB', 'details', jsonb_build_object('jobId', item->>'jobId'));
  END IF;
  IF job.cancel_requested_at IS NOT NULL THEN
    RETURN jsonb_build_object('ok', jsonb_build_object('stored', 0, 'verified', 0, 'failed', 0, 'notFound', 0, 'credits', 0, 'unpaid', 0, 'cancelled', true));
  END IF;

  SELECT count(*), (array_agg(p.record_id ORDER BY r.seq))[1] INTO to_charge, first_record
    FROM jsonb_to_recordset(item->'results') AS r (seq int, outcome text)
   CROSS JOIN LATERAL (
     SELECT j.record_id FROM job_records j WHERE j.job_id = job.job_id AND j.seq = r.seq AND j.outcome IS NULL OFFSET 0
   ) AS p
   WHERE r.outcome = ANY (chargeable);

  IF to_charge > 0 THEN
    IF job.hold_id IS NULL THEN
      RAISE EXCEPTION 'invariant: job % has chargeable results but no hold', job.job_id;
    END IF;
    request := jsonb_build_object('holdId', job.hold_id::text, 'quantity', to_charge);
    charge := credits_hold_charge(jsonb_build_object(
      'accountId', job.account_id, 'holdId', job.hold_id::text, 'quantity', to_charge,
      'idempotencyKey', job.job_id || ':' || first_record, 'origin', 'engine',
      'requestHash', encode(sha256(convert_to('hold_charge' || E'\n' || request::text, 'UTF8')), 'hex'),
      'now', item->>'now'), prices);
    IF charge ? 'ok' THEN
      paid := true;
      charge_id := (charge->'ok'->>'chargeId')::bigint;
      credits := (charge->'ok'->>'credits')::bigint;
    ELSIF charge->>'refused' = 'INSUFFICIENT_CREDITS' THEN
      unpaid := to_charge;
      to_charge := 0;
    ELSE
      RETURN charge;
    END IF;
  END IF;

  -- Stored: every pending result that is not chargeable, and the chargeable ones if they were paid for.
  WITH fresh AS MATERIALIZED (
    SELECT p.target, r.outcome, r.data, r.outcome = ANY (chargeable) AS chargeable
      FROM jsonb_to_recordset(item->'results') AS r (seq int, outcome text, data jsonb)
     CROSS JOIN LATERAL (
       SELECT j.ctid AS target FROM job_records j WHERE j.job_id = job.job_id AND j.seq = r.seq AND j.outcome IS NULL OFFSET 0
     ) AS p
     WHERE paid OR NOT (r.outcome = ANY (chargeable))
  ), written AS (
    UPDATE job_records j
       SET outcome = f.outcome, data = coalesce(f.data, 'null'::jsonb), processed_at = instant,
           charged = CASE WHEN f.chargeable THEN (prices->>job.feature)::bigint ELSE 0 END,
           operation_id = CASE WHEN f.chargeable THEN charge_id END
      FROM fresh f
     WHERE j.ctid = f.target
    RETURNING f.outcome
  )
  SELECT count(*), count(*) FILTER (WHERE w.outcome = item->>'failedOutcome') INTO stored, failed FROM written w;
  IF stored > 0 THEN
    UPDATE jobs SET processed_count = processed_count + stored, verified_count = verified_count + to_charge, failed_count = failed_count + failed
     WHERE job_id = job.job_id;
  END IF;
  RETURN jsonb_build_object('ok', jsonb_build_object(
    'stored', stored, 'verified', to_charge, 'failed', failed, 'notFound', stored - to_charge - failed,
    'credits', credits, 'unpaid', unpaid, 'cancelled', false));
END;
$$;

-- Down Migration
-- The function as 1730000000012 created it.
CREATE OR REPLACE FUNCTION credits_store_job_results(item jsonb, prices jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
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
