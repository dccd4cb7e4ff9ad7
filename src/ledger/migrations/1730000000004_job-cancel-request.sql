-- Up Migration

-- When a job's cancellation was asked for: from then on no result of it is stored or charged, even
-- from a batch that was already under way when the cancel arrived.
ALTER TABLE jobs ADD COLUMN cancel_requested_at timestamptz;

-- Down Migration
ALTER TABLE jobs DROP COLUMN cancel_requested_at;
