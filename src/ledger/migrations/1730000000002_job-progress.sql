-- Up Migration

-- A job's progress, kept in the transaction that stores the results it counts, so that reading it
-- (every poll of a watcher, every job in a list) does not count millions of records.
ALTER TABLE jobs
  ADD COLUMN processed_count integer NOT NULL DEFAULT 0,
  ADD COLUMN verified_count  integer NOT NULL DEFAULT 0,
  ADD COLUMN failed_count    integer NOT NULL DEFAULT 0,
  ADD CONSTRAINT jobs_progress_counts CHECK (
    verified_count >= 0 AND failed_count >= 0
    AND verified_count + failed_count <= processed_count AND processed_count <= record_count
  );

-- Existing jobs: a charged record is a verified one, 'failed' is the provider-failure outcome.
UPDATE jobs j
   SET processed_count = r.processed, verified_count = r.verified, failed_count = r.failed
  FROM (SELECT job_id,
               count(*) FILTER (WHERE outcome IS NOT NULL) AS processed,
               count(*) FILTER (WHERE operation_id IS NOT NULL) AS verified,
               count(*) FILTER (WHERE outcome = 'failed') AS failed
          FROM job_records GROUP BY job_id) r
 WHERE j.job_id = r.job_id;

-- Down Migration
ALTER TABLE jobs DROP CONSTRAINT jobs_progress_counts, DROP COLUMN processed_count, DROP COLUMN verified_count, DROP COLUMN failed_count;
