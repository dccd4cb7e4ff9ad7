import { z } from 'zod';
import { accountId, featureId, idempotencyKey, jobId, jobRecord, userId } from '../contract/fields.js';
import { JOB_LIMITS } from '../contract/limits.js';
import { instant, positiveMicros } from '../ledger/inputs.js';

/** The jobs' inputs: the contract's fields (src/contract/fields.ts) with amounts in micros and instants as Dates. */

export const createJobInput = z.strictObject({
  accountId,
  jobId: jobId.optional(),
  feature: featureId,
  userId,
  idempotencyKey,
  maxCredits: positiveMicros.optional(),
  records: z.array(jobRecord).max(JOB_LIMITS.maxRecordsPerAppend).default([]),
  now: instant,
});

export const appendRecordsInput = z.strictObject({
  jobId,
  records: z.array(jobRecord).min(1).max(JOB_LIMITS.maxRecordsPerAppend),
  now: instant,
});
