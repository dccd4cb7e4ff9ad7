import { z } from 'zod';
import { accountId, featureId, idempotencyKey, instant, positiveMicros, userId } from '../ledger/inputs.js';

export const JOB_LIMITS = {
  maxRecordsPerAppend: 10_000,
  maxRecordsPerJob: 5_000_000,
  maxRecordInputBytes: 16_384,
  maxBatchSize: 5_000,
  maxResultsPage: 1_000,
} as const;

export const jobId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'must be 1-128 letters, digits or _.:- and start with a letter or digit');

export const jobRecord = z.strictObject({
  recordId: z.string().min(1).max(256),
  input: z
    .unknown()
    .optional()
    .refine((value) => value === undefined || JSON.stringify(value).length <= JOB_LIMITS.maxRecordInputBytes, `must serialize to at most ${JOB_LIMITS.maxRecordInputBytes} bytes`),
});
export type JobRecordInput = z.input<typeof jobRecord>;

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

export const JOB_STATUSES = ['draft', 'running', 'paused', 'completed', 'cancelled', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
/** The statuses a job ends in; nothing changes it afterwards. */
export const FINAL_JOB_STATUSES = ['completed', 'cancelled', 'failed'] as const satisfies readonly JobStatus[];
export type FinalJobStatus = (typeof FINAL_JOB_STATUSES)[number];
export const isFinalJobStatus = (status: JobStatus): status is FinalJobStatus => (FINAL_JOB_STATUSES as readonly JobStatus[]).includes(status);

export const PAUSE_REASONS = ['OUT_OF_CREDITS'] as const;
export type PauseReason = (typeof PAUSE_REASONS)[number];
