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
  // Which of them the job has already: one probe of (job_id, record_id) per id. Asked inside the
  // INSERT (NOT EXISTS), the planner turned it into a scan of the job's records per new record while
  // the statistics still said the job was empty (measured: 10,000 records appended to a job of
  // 20,000 in 21 s instead of 0.1 s).
  const { rows: known } = await client.query<{ record_id: string }>('SELECT record_id FROM job_records WHERE job_id = $1 AND record_id = ANY ($2::text[])', [
    job.job_id,
    [...firstById.keys()],
  ]);
  for (const { record_id: recordId } of known) firstById.delete(recordId);
  if (job.record_count + firstById.size > JOB_LIMITS.maxRecordsPerJob) {
    throw new LedgerError('VALIDATION_FAILED', `a job holds at most ${JOB_LIMITS.maxRecordsPerJob} records`, { issues: [{ path: 'records', message: 'too many records' }] });
  }
  if (firstById.size === 0) return 0;
  // The job row is locked, so numbering new records after record_count cannot race another append:
  // a job's records are numbered 1..record_count in append order, with no gap.
  await client.query(
    `INSERT INTO job_records (job_id, seq, record_id, input)
     SELECT $1, $2 + r.ordinal, r.record_id, r.input FROM unnest($3::text[], $4::jsonb[]) WITH ORDINALITY AS r (record_id, input, ordinal)`,
    [job.job_id, job.record_count, [...firstById.keys()], [...firstById.values()].map((input) => JSON.stringify(input))],
  );
  await client.query('UPDATE jobs SET record_count = record_count + $2 WHERE job_id = $1', [job.job_id, firstById.size]);
  return firstById.size;
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

/** Where a batch reads: records after `afterSeq` up to `lastSeq` (both seqs), the whole job when omitted. */
export interface SeqWindow {
  afterSeq: number;
  lastSeq: number;
}

/**
 * The first records without a stored result, in append order, within `window`: a range of the
 * primary key, stored records included, so a batch's own range keeps this cheap (migration
 * 1730000000015); without a window it reads from the job's first record.
 */
export async function pendingRecords(deps: JobDeps, input: { jobId: string; limit: number; window?: SeqWindow }): Promise<PendingRecord[]> {
  // Named as PendingRecord's fields, so that the rows are the records (a batch reads thousands a second).
  const { rows } = await deps.pool.query<PendingRecord>(
    `SELECT seq, record_id AS "recordId", input FROM job_records
      WHERE job_id = $1 AND outcome IS NULL AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4`,
    [input.jobId, input.window?.afterSeq ?? 0, input.window?.lastSeq ?? JOB_LIMITS.maxRecordsPerJob, Math.min(input.limit, JOB_LIMITS.maxBatchSize)],
  );
  return rows;
}

/** The seq of a job's last record: its records are numbered 1..record_count in append order. */
export async function lastSeq(deps: JobDeps, input: { jobId: string }): Promise<number> {
  return (await readJob(deps.pool, input.jobId)).record_count;
}
