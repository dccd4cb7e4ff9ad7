import type { z } from 'zod';
import { JOB_LIMITS } from '../contract/limits.js';
import type { Queryable } from '../ledger/db.js';
import { LedgerError } from '../ledger/errors.js';
import { parseInput } from '../ledger/inputs.js';
import { appendRecordsInput } from './inputs.js';
import { inTransaction, readJob, type JobDeps, type JobRow } from './job.js';

export interface PendingRecord {
  seq: number;
  recordId: string;
  input: unknown;
}

/** Adds records after the job's last one, in order; a recordId already in the job (or repeated) is ignored. The caller holds the job row's lock. */
export async function insertRecords(client: Queryable, job: JobRow, records: readonly { recordId: string; input?: unknown }[]): Promise<number> {
  const firstById = new Map<string, unknown>();
  for (const record of records) if (!firstById.has(record.recordId)) firstById.set(record.recordId, record.input ?? null);
  if (job.record_count + firstById.size > JOB_LIMITS.maxRecordsPerJob) {
    throw new LedgerError('VALIDATION_FAILED', `a job holds at most ${JOB_LIMITS.maxRecordsPerJob} records`, { issues: [{ path: 'records', message: 'too many records' }] });
  }
  // The job row is locked, so numbering new records after record_count cannot race another append.
  const { rowCount } = await client.query(
    `INSERT INTO job_records (job_id, seq, record_id, input)
     SELECT $1, $2 + row_number() OVER (ORDER BY r.ordinal), r.record_id, r.input
       FROM unnest($3::text[], $4::jsonb[]) WITH ORDINALITY AS r (record_id, input, ordinal)
      WHERE NOT EXISTS (SELECT 1 FROM job_records x WHERE x.job_id = $1 AND x.record_id = r.record_id)`,
    [job.job_id, job.record_count, [...firstById.keys()], [...firstById.values()].map((input) => JSON.stringify(input))],
  );
  const added = rowCount ?? 0;
  if (added > 0) await client.query('UPDATE jobs SET record_count = record_count + $2 WHERE job_id = $1', [job.job_id, added]);
  return added;
}

/** Appends records to a draft job; records already in the job (same recordId) are ignored. */
export async function appendRecords(deps: JobDeps, raw: z.input<typeof appendRecordsInput>): Promise<{ jobId: string; added: number; total: number }> {
  const input = parseInput(appendRecordsInput, raw);
  return inTransaction(deps, async (client) => {
    const job = await readJob(client, input.jobId, { lock: true });
    if (job.status !== 'draft') {
      throw new LedgerError('JOB_STATE_CONFLICT', `job "${input.jobId}" is ${job.status}: records can only be added before it starts`, { jobId: input.jobId, status: job.status });
    }
    const added = await insertRecords(client, job, input.records);
    await client.query('UPDATE jobs SET updated_at = $2 WHERE job_id = $1', [input.jobId, input.now]);
    return { jobId: input.jobId, added, total: job.record_count + added };
  });
}

/** The first records without a stored result, in append order (a partial index keeps this cheap). */
export async function pendingRecords(deps: JobDeps, input: { jobId: string; limit: number }): Promise<PendingRecord[]> {
  const { rows } = await deps.pool.query<{ seq: number; record_id: string; input: unknown }>(
    'SELECT seq, record_id, input FROM job_records WHERE job_id = $1 AND outcome IS NULL ORDER BY seq LIMIT $2',
    [input.jobId, Math.min(input.limit, JOB_LIMITS.maxBatchSize)],
  );
  return rows.map((row) => ({ seq: row.seq, recordId: row.record_id, input: row.input }));
}
