import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { LedgerError } from '../ledger/errors.js';
import { parseInput } from '../ledger/inputs.js';
import { hashRequest } from '../ledger/request-hash.js';
import { createJobInput } from './inputs.js';
import { enrichmentFeature, inTransaction, JOB_COLUMNS, type JobDeps, type JobRow } from './job.js';
import { getJob, type JobView } from './reads.js';
import { insertRecords } from './records.js';

/**
 * Creates a draft job with its first records, idempotent by the account's idempotency key: the same
 * key and request answers the job (`replayed`), another request with it is a conflict.
 */
export async function createJob(deps: JobDeps, raw: z.input<typeof createJobInput>): Promise<JobView & { replayed: boolean }> {
  const input = parseInput(createJobInput, raw);
  const feature = enrichmentFeature(deps, input.feature);
  const requestHash = hashRequest('job', { feature: input.feature, userId: input.userId, maxCredits: input.maxCredits, jobId: input.jobId, records: input.records });
  const created = await inTransaction(deps, async (client) => {
    const account = await deps.ledger.within(client).lockAccountFor({ accountId: input.accountId });
    const existing = await client.query<{ job_id: string; request_hash: string }>(
      'SELECT job_id, request_hash FROM jobs WHERE account_id = $1 AND idempotency_key = $2',
      [input.accountId, input.idempotencyKey],
    );
    const previous = existing.rows[0];
    if (previous) {
      if (previous.request_hash !== requestHash) {
        throw new LedgerError('IDEMPOTENCY_CONFLICT', `idempotency key "${input.idempotencyKey}" was already used for a different job`, {
          idempotencyKey: input.idempotencyKey,
          jobId: previous.job_id,
        });
      }
      return { id: previous.job_id, replayed: true };
    }
    await deps.ledger.within(client).authorizeSpender({ account, featureId: feature.id, userId: input.userId, now: input.now });
    const id = input.jobId ?? `job_${randomUUID()}`;
    const { rows } = await client.query<JobRow>(
      `INSERT INTO jobs (job_id, account_id, feature, user_id, idempotency_key, request_hash, max_credits, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (job_id) DO NOTHING RETURNING ${JOB_COLUMNS}`,
      [id, input.accountId, feature.id, input.userId, input.idempotencyKey, requestHash, input.maxCredits ?? null, input.now],
    );
    const job = rows[0];
    if (!job) throw new LedgerError('JOB_STATE_CONFLICT', `job "${id}" already exists`, { jobId: id });
    if (input.records.length > 0) await insertRecords(client, job, input.records);
    return { id, replayed: false };
  });
  return { ...(await getJob(deps, { jobId: created.id, now: input.now })), replayed: created.replayed };
}
