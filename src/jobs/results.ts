import type { Feature } from '../catalog/catalog.js';
import type { JobProgress } from '../contract/job-progress.js';
import { JOB_LIMITS } from '../contract/limits.js';
import type { JobRecordResult, StoredJobResults } from '../ledger/ledger.js';
import type { Micros } from '../money.js';
import { FAILED_OUTCOME } from '../providers/provider.js';
import { enrichmentFeature, holdOf, readJob, type JobDeps } from './job.js';

/** One record's result from the provider, as a flush stores it. */
export type RecordResult = JobRecordResult;

/** What a flush stored, in the one progress shape: the ledger counts it as `stored` and `credits`. */
export function flushProgress(stored: StoredJobResults): JobProgress {
  return { processed: stored.stored, verified: stored.verified, notFound: stored.notFound, failed: stored.failed, charged: stored.credits };
}

/** What a batch needs to know before it sends anything: what the hold can pay for, and what is left to do. */
export interface BatchBudget {
  /** Whole records the job's hold can pay for now, at the feature's price. */
  affordable: number;
  /** The job's records without a stored result, wherever they are. */
  pending: number;
  /** The job's cancellation was asked for: nothing more is stored or charged. */
  cancelRequested: boolean;
  feature: Feature;
}

export async function budget(deps: JobDeps, input: { jobId: string; now: Date }): Promise<BatchBudget> {
  const job = await readJob(deps.pool, input.jobId);
  const feature = enrichmentFeature(deps, job.feature);
  const hold = await holdOf(deps, deps.pool, job, input.now);
  return {
    affordable: Math.floor((hold?.held ?? 0) / Math.max(feature.unitPrice, 1)),
    pending: job.record_count - job.processed_count,
    cancelRequested: job.cancel_requested_at !== null,
    feature,
  };
}

/**
 * Stores a flush of results in one round trip (`credits_store_job_results`), in a batch with the
 * account's concurrent charges: every result not stored yet, and every chargeable one together
 * with its charge on the hold. A record already stored (by an earlier attempt) is skipped and never
 * charged again. Chargeable results the hold cannot pay for are not stored.
 */
export async function storeResults(deps: JobDeps, input: { jobId: string; results: readonly RecordResult[]; now: Date }): Promise<StoredJobResults> {
  const job = await readJob(deps.pool, input.jobId);
  const feature = enrichmentFeature(deps, job.feature);
  return deps.ledger.storeJobResults({
    kind: 'job_results',
    accountId: job.account_id,
    jobId: input.jobId,
    results: input.results.map((result) => ({ seq: result.seq, recordId: result.recordId, outcome: result.outcome, data: result.data ?? null })),
    chargeableOutcomes: feature.chargeableOutcomes ?? [],
    failedOutcome: FAILED_OUTCOME,
    now: input.now.toISOString(),
  });
}

/** Stored results in append order, a page at a time after `afterSeq`, with what each was charged. */
export async function recordResults(deps: JobDeps, input: { jobId: string; afterSeq: number; limit: number }): Promise<(RecordResult & { charged: Micros })[]> {
  await readJob(deps.pool, input.jobId);
  const { rows } = await deps.pool.query<{ seq: number; record_id: string; outcome: string; data: unknown; charged: Micros }>(
    `SELECT seq, record_id, outcome, data, charged FROM job_records
      WHERE job_id = $1 AND seq > $2 AND outcome IS NOT NULL ORDER BY seq LIMIT $3`,
    [input.jobId, input.afterSeq, Math.min(input.limit, JOB_LIMITS.maxResultsPage)],
  );
  return rows.map((row) => ({ seq: row.seq, recordId: row.record_id, outcome: row.outcome, data: row.data, charged: row.charged }));
}
