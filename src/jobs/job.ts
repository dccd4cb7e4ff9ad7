import type pg from 'pg';
import type { Feature } from '../catalog/catalog.js';
import { isFinalJobStatus, type JobStatus, type PauseReason } from '../contract/job-status.js';
import { withTransaction, type Queryable } from '../ledger/db.js';
import { LedgerError } from '../ledger/errors.js';
import type { HoldState, Ledger } from '../ledger/ledger.js';
import { micros, multiplyMicros, ZERO_MICROS, type Micros } from '../money.js';

/** What every operation of the job store works with. */
export interface JobDeps {
  pool: pg.Pool;
  ledger: Ledger;
}

/** A job's row in `jobs`: the truth for its status and its record counts. */
export interface JobRow {
  job_id: string;
  account_id: string;
  feature: string;
  user_id: string;
  request_hash: string;
  max_credits: Micros | null;
  status: JobStatus;
  pause_reason: PauseReason | null;
  stop_reason: string | null;
  hold_id: string | null;
  record_count: number;
  processed_count: number;
  verified_count: number;
  failed_count: number;
  cancel_requested_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const JOB_COLUMNS =
  'job_id, account_id, feature, user_id, request_hash, max_credits, status, pause_reason, stop_reason, hold_id::text, record_count, processed_count, verified_count, failed_count, cancel_requested_at, created_at, updated_at';

export const inTransaction = <T>(deps: JobDeps, work: (client: pg.PoolClient) => Promise<T>): Promise<T> => withTransaction(deps.pool, work);

export async function readJob(db: Queryable, jobId: string, options: { lock: boolean } = { lock: false }): Promise<JobRow> {
  const { rows } = await db.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE job_id = $1${options.lock ? ' FOR UPDATE' : ''}`, [jobId]);
  const job = rows[0];
  if (!job) throw new LedgerError('UNKNOWN_JOB', `job "${jobId}" does not exist`, { jobId });
  return job;
}

/** The feature a job runs: bulk jobs call a provider per record and charge per outcome, with no re-export window. */
export function enrichmentFeature(deps: JobDeps, featureId: string): Feature {
  const feature = deps.ledger.requireFeature(featureId);
  if (feature.kind !== 'enrichment' || !feature.chargeableOutcomes) {
    throw new LedgerError('VALIDATION_FAILED', `feature "${featureId}" is not an enrichment feature: bulk jobs call a provider per record`, {
      issues: [{ path: 'feature', message: 'must be an enrichment feature' }],
    });
  }
  if (feature.reexportWindowDays !== undefined) {
    throw new LedgerError('VALIDATION_FAILED', `feature "${featureId}" has a re-export window, which bulk jobs do not apply`, {
      issues: [{ path: 'feature', message: 'bulk jobs do not support re-export windows' }],
    });
  }
  return feature;
}

export async function holdOf(deps: JobDeps, db: Queryable, job: JobRow, now: Date): Promise<HoldState | null> {
  return job.hold_id === null ? null : deps.ledger.within(db).holdState({ accountId: job.account_id, holdId: job.hold_id, now });
}

/**
 * Credits still to earmark for a job: every pending record at full price, less what its hold has,
 * within its cap; nothing once it has ended. What a reservation asks the ledger for, what a failed
 * resume says is missing, and what a job's view says it needs: one rule for the three.
 */
export function creditsNeeded(deps: JobDeps, job: JobRow, hold: HoldState | null): { needed: Micros; capReached: boolean } {
  if (isFinalJobStatus(job.status)) return { needed: ZERO_MICROS, capReached: false };
  const unitPrice = enrichmentFeature(deps, job.feature).unitPrice;
  // The row counts what its flushes stored, in their transactions: no need to count the records.
  const pendingCost = multiplyMicros(unitPrice, job.record_count - job.processed_count);
  const held = hold?.held ?? ZERO_MICROS;
  let needed = micros(Math.max(0, pendingCost - held));
  let capReached = false;
  if (job.max_credits !== null) {
    const room = job.max_credits - (hold?.charged ?? 0) - held;
    if (room < unitPrice && needed > 0 && held < unitPrice) capReached = true;
    needed = micros(Math.max(0, Math.min(needed, room)));
  }
  return { needed, capReached };
}
