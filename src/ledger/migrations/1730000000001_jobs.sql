-- Up Migration

-- Bulk enrichment jobs. Records live here, never in workflow inputs or histories; the workflow
-- carries only a cursor and counters.
CREATE TABLE jobs (
  job_id          text PRIMARY KEY CHECK (job_id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$'),
  account_id      text NOT NULL REFERENCES accounts,
  feature         text NOT NULL,
  user_id         text NOT NULL,
  idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 256),
  request_hash    text NOT NULL,
  max_credits     bigint CHECK (max_credits > 0),
  status          text NOT NULL DEFAULT 'draft'
                  CHECK (status IN ('draft', 'running', 'paused', 'completed', 'cancelled', 'failed')),
  pause_reason    text CHECK ((status = 'paused') = (pause_reason IS NOT NULL)),
  stop_reason     text,
  hold_id         bigint,
  record_count    integer NOT NULL DEFAULT 0 CHECK (record_count >= 0),
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  UNIQUE (account_id, idempotency_key),
  FOREIGN KEY (hold_id, account_id) REFERENCES holds (hold_id, account_id)
);

-- One row per record; `outcome` goes from NULL to a value exactly once, in the same transaction
-- that charges the hold for it, which is what makes a retried batch charge nothing twice.
CREATE TABLE job_records (
  job_id       text NOT NULL REFERENCES jobs,
  seq          integer NOT NULL CHECK (seq >= 1),
  record_id    text NOT NULL CHECK (length(record_id) BETWEEN 1 AND 256),
  input        jsonb,
  outcome      text,
  data         jsonb,
  charged      bigint NOT NULL DEFAULT 0 CHECK (charged >= 0),
  operation_id bigint REFERENCES operations,
  processed_at timestamptz,
  PRIMARY KEY (job_id, seq),
  UNIQUE (job_id, record_id),
  CHECK ((outcome IS NULL) = (processed_at IS NULL)),
  CHECK (charged = 0 OR operation_id IS NOT NULL)
);
CREATE INDEX job_records_pending ON job_records (job_id, seq) WHERE outcome IS NULL;

-- Outbox of domain events, written in the transaction that made them true.
CREATE TABLE domain_events (
  event_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_type  text NOT NULL,
  account_id  text NOT NULL REFERENCES accounts,
  job_id      text REFERENCES jobs,
  payload     jsonb NOT NULL,
  occurred_at timestamptz NOT NULL
);
CREATE INDEX domain_events_account ON domain_events (account_id, event_id);

-- Down Migration
DROP TABLE domain_events, job_records, jobs;
