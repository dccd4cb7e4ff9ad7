import type { JobProgress } from '../contract/job-progress.js';
import { PAUSE_REASONS, type JobStatus, type PauseReason } from '../contract/job-status.js';
import { JOB_LIMITS } from '../contract/limits.js';
import type { Queryable } from '../ledger/db.js';
import type { HoldState } from '../ledger/ledger.js';
import { ZERO_MICROS, type Micros } from '../money.js';
import { creditsNeeded, holdOf, JOB_COLUMNS, readJob, type JobDeps, type JobRow } from './job.js';

export interface JobView {
  jobId: string;
  accountId: string;
  feature: string;
  userId: string;
  status: JobStatus;
  pauseReason: PauseReason | null;
  stopReason: string | null;
  maxCredits: Micros | null;
  holdId: string | null;
  /** From the job's row: its records (`total`) and what they have come to. */
  progress: JobProgress & { total: number };
  /** `needed`: what it still needs to reserve (`creditsNeeded`); `accountAvailable`: the account's available balance now. */
  credits: { reserved: Micros; charged: Micros; released: Micros; expired: Micros; held: Micros; needed: Micros; accountAvailable: Micros };
  /** The account's, for people reading its instants. */
  timeZone: string;
  createdAt: string;
  updatedAt: string;
}

/** What a job is doing, without its record counts: cheap enough to read on every control call. */
export interface JobStatusView {
  jobId: string;
  accountId: string;
  feature: string;
  status: JobStatus;
  pauseReason: PauseReason | null;
  holdId: string | null;
  /** The account's: its workflow shows instants in it. */
  timeZone: string;
}

function progressOf(job: JobRow, hold: HoldState | null): JobView['progress'] {
  const { record_count: total, processed_count: processed, verified_count: verified, failed_count: failed } = job;
  // A job's hold is charged for its records and nothing else: what it has charged is what they cost.
  return { total, processed, verified, notFound: processed - verified - failed, failed, charged: hold?.charged ?? ZERO_MICROS };
}

/** What a job's view says of its account: read once for a list of the account's jobs. */
interface AccountSide {
  available: Micros;
  timeZone: string;
}

const accountSide = (deps: JobDeps, db: Queryable, accountId: string, now: Date): Promise<AccountSide> => deps.ledger.within(db).balance({ accountId, now });

async function viewOf(deps: JobDeps, db: Queryable, job: JobRow, account: AccountSide, now: Date): Promise<JobView> {
  const hold = await holdOf(deps, db, job, now);
  return {
    jobId: job.job_id,
    accountId: job.account_id,
    feature: job.feature,
    userId: job.user_id,
    status: job.status,
    pauseReason: job.pause_reason,
    stopReason: job.stop_reason,
    maxCredits: job.max_credits,
    holdId: job.hold_id,
    progress: progressOf(job, hold),
    credits: {
      reserved: hold?.reserved ?? ZERO_MICROS,
      charged: hold?.charged ?? ZERO_MICROS,
      released: hold?.released ?? ZERO_MICROS,
      expired: hold?.expired ?? ZERO_MICROS,
      held: hold?.held ?? ZERO_MICROS,
      needed: creditsNeeded(deps, job, hold).needed,
      accountAvailable: account.available,
    },
    timeZone: account.timeZone,
    createdAt: job.created_at.toISOString(),
    updatedAt: job.updated_at.toISOString(),
  };
}

export async function jobStatus(deps: JobDeps, input: { jobId: string }): Promise<JobStatusView> {
  const job = await readJob(deps.pool, input.jobId);
  const { timeZone } = await deps.ledger.getAccount({ accountId: job.account_id });
  return { jobId: job.job_id, accountId: job.account_id, feature: job.feature, status: job.status, pauseReason: job.pause_reason, holdId: job.hold_id, timeZone };
}

export async function getJob(deps: JobDeps, input: { jobId: string; now: Date }): Promise<JobView> {
  const job = await readJob(deps.pool, input.jobId);
  return viewOf(deps, deps.pool, job, await accountSide(deps, deps.pool, job.account_id, input.now), input.now);
}

/** An account's jobs, newest first. */
export async function listJobs(deps: JobDeps, input: { accountId: string; status?: JobStatus; limit: number; now: Date }): Promise<JobView[]> {
  // Also refuses an unknown account.
  const account = await accountSide(deps, deps.pool, input.accountId, input.now);
  const { rows } = await deps.pool.query<JobRow>(
    `SELECT ${JOB_COLUMNS} FROM jobs WHERE account_id = $1 AND ($2::text IS NULL OR status = $2)
      ORDER BY created_at DESC, job_id LIMIT $3`,
    [input.accountId, input.status ?? null, Math.min(input.limit, JOB_LIMITS.maxResultsPage)],
  );
  const views: JobView[] = [];
  for (const job of rows) views.push(await viewOf(deps, deps.pool, job, account, input.now));
  return views;
}

/** What the workers have in hand or wait on, over every account: cheap enough for each metrics scrape. */
export interface JobBacklog {
  running: number;
  paused: Record<PauseReason, number>;
  /** Records of running jobs without a result yet. */
  pendingRecords: number;
}

export async function jobBacklog(deps: JobDeps): Promise<JobBacklog> {
  // The jobs table has a row per job, not per record: a scan of it stays small next to job_records.
  const { rows } = await deps.pool.query<{ status: 'running' | 'paused'; pause_reason: PauseReason | null; jobs: number; pending: number }>(
    `SELECT status, pause_reason, count(*)::int AS jobs, sum(record_count - processed_count)::bigint AS pending
       FROM jobs WHERE status IN ('running', 'paused') GROUP BY status, pause_reason`,
  );
  const backlog: JobBacklog = { running: 0, paused: Object.fromEntries(PAUSE_REASONS.map((reason) => [reason, 0])) as Record<PauseReason, number>, pendingRecords: 0 };
  for (const row of rows) {
    if (row.status === 'running') {
      backlog.running = row.jobs;
      backlog.pendingRecords = row.pending;
    } else if (row.pause_reason) {
      backlog.paused[row.pause_reason] = row.jobs;
    }
  }
  return backlog;
}
