import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { z } from 'zod';
import type { Feature } from '../catalog/catalog.js';
import { appendEvent, type EventType } from '../events/outbox.js';
import { withTransaction, type Queryable } from '../ledger/db.js';
import { engineKeys } from '../ledger/keys.js';
import { LedgerError } from '../ledger/errors.js';
import { parseInput } from '../ledger/inputs.js';
import type { HoldState, JobRecordResult, Ledger, StoredJobResults } from '../ledger/ledger.js';
import { multiplyMicros, type Micros } from '../money.js';
import { FAILED_OUTCOME } from '../providers/provider.js';
import { canMoveJob, isFinalJobStatus, type FinalJobStatus, type JobStatus, type PauseReason } from '../contract/job-status.js';
import { JOB_LIMITS } from '../contract/limits.js';
import { appendRecordsInput, createJobInput } from './inputs.js';
import { hashRequest } from '../ledger/request-hash.js';

export interface JobProgress {
  total: number;
  processed: number;
  verified: number;
  notFound: number;
  failed: number;
}

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
  progress: JobProgress;
  credits: { reserved: Micros; charged: Micros; released: Micros; expired: Micros; held: Micros };
  createdAt: string;
  updatedAt: string;
}

/** What a job is doing, without its record counts: cheap enough to poll. */
export interface JobStatusView {
  jobId: string;
  accountId: string;
  feature: string;
  status: JobStatus;
  pauseReason: PauseReason | null;
  holdId: string | null;
}

export interface PendingRecord {
  seq: number;
  recordId: string;
  input: unknown;
}

/** One record's result from the provider, as a flush stores it. */
export type RecordResult = JobRecordResult;
export type StoredResults = StoredJobResults;

interface JobRow {
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

const JOB_COLUMNS =
  'job_id, account_id, feature, user_id, request_hash, max_credits, status, pause_reason, stop_reason, hold_id::text, record_count, processed_count, verified_count, failed_count, cancel_requested_at, created_at, updated_at';

export type JobStore = ReturnType<typeof createJobStore>;

/**
 * Jobs and their records in PostgreSQL. The workflow drives a job; this store makes each step one
 * transaction: reserving with the status change and its event, storing results with their charge.
 */
export function createJobStore({ pool, ledger }: { pool: pg.Pool; ledger: Ledger }) {
  const transaction = <T>(work: (client: pg.PoolClient) => Promise<T>) => withTransaction(pool, work);

  async function readJob(client: Queryable, jobId: string, lock = false): Promise<JobRow> {
    const { rows } = await client.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE job_id = $1${lock ? ' FOR UPDATE' : ''}`, [jobId]);
    const job = rows[0];
    if (!job) throw new LedgerError('UNKNOWN_JOB', `job "${jobId}" does not exist`, { jobId });
    return job;
  }

  function enrichmentFeature(featureId: string): Feature {
    const feature = ledger.requireFeature(featureId);
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

  async function insertRecords(client: Queryable, job: JobRow, records: readonly { recordId: string; input?: unknown }[]): Promise<number> {
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

  async function createJob(raw: z.input<typeof createJobInput>): Promise<JobView & { replayed: boolean }> {
    const input = parseInput(createJobInput, raw);
    const feature = enrichmentFeature(input.feature);
    const requestHash = hashRequest('job', { feature: input.feature, userId: input.userId, maxCredits: input.maxCredits, jobId: input.jobId, records: input.records });
    const jobId = await transaction(async (client) => {
      const account = await ledger.within(client).lockAccountFor({ accountId: input.accountId });
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
      await ledger.within(client).authorizeSpender({ account, featureId: feature.id, userId: input.userId, now: input.now });
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
    return { ...(await getJob(jobId.id, input.now)), replayed: jobId.replayed };
  }

  /** Appends records to a draft job; records already in the job (same recordId) are ignored. */
  async function appendRecords(raw: z.input<typeof appendRecordsInput>): Promise<{ jobId: string; added: number; total: number }> {
    const input = parseInput(appendRecordsInput, raw);
    return transaction(async (client) => {
      const job = await readJob(client, input.jobId, true);
      if (job.status !== 'draft') {
        throw new LedgerError('JOB_STATE_CONFLICT', `job "${input.jobId}" is ${job.status}: records can only be added before it starts`, { jobId: input.jobId, status: job.status });
      }
      const added = await insertRecords(client, job, input.records);
      await client.query('UPDATE jobs SET updated_at = $2 WHERE job_id = $1', [input.jobId, input.now]);
      return { jobId: input.jobId, added, total: job.record_count + added };
    });
  }

  function progressOf(job: JobRow): JobProgress {
    const { record_count: total, processed_count: processed, verified_count: verified, failed_count: failed } = job;
    return { total, processed, verified, notFound: processed - verified - failed, failed };
  }

  async function holdOf(client: Queryable, job: JobRow, now: Date): Promise<HoldState | null> {
    return job.hold_id === null ? null : ledger.within(client).holdState({ accountId: job.account_id, holdId: job.hold_id, now });
  }

  async function viewOf(client: Queryable, job: JobRow, now: Date): Promise<JobView> {
    const hold = await holdOf(client, job, now);
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
      progress: progressOf(job),
      credits: {
        reserved: hold?.reserved ?? 0,
        charged: hold?.charged ?? 0,
        released: hold?.released ?? 0,
        expired: hold?.expired ?? 0,
        held: hold?.held ?? 0,
      },
      createdAt: job.created_at.toISOString(),
      updatedAt: job.updated_at.toISOString(),
    };
  }

  async function jobStatus(jobId: string): Promise<JobStatusView> {
    const job = await readJob(pool, jobId);
    return { jobId: job.job_id, accountId: job.account_id, feature: job.feature, status: job.status, pauseReason: job.pause_reason, holdId: job.hold_id };
  }

  async function getJob(jobId: string, now: Date): Promise<JobView> {
    return viewOf(pool, await readJob(pool, jobId), now);
  }

  /** An account's jobs, newest first. */
  async function listJobs(input: { accountId: string; status?: JobStatus; limit: number; now: Date }): Promise<JobView[]> {
    await ledger.getAccount({ accountId: input.accountId });
    const { rows } = await pool.query<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM jobs WHERE account_id = $1 AND ($2::text IS NULL OR status = $2)
        ORDER BY created_at DESC, job_id LIMIT $3`,
      [input.accountId, input.status ?? null, Math.min(input.limit, JOB_LIMITS.maxResultsPage)],
    );
    const views: JobView[] = [];
    for (const job of rows) views.push(await viewOf(pool, job, input.now));
    return views;
  }

  async function results(jobId: string, afterSeq: number, limit: number): Promise<(RecordResult & { charged: Micros })[]> {
    await readJob(pool, jobId);
    const { rows } = await pool.query<{ seq: number; record_id: string; outcome: string; data: unknown; charged: Micros }>(
      `SELECT seq, record_id, outcome, data, charged FROM job_records
        WHERE job_id = $1 AND seq > $2 AND outcome IS NOT NULL ORDER BY seq LIMIT $3`,
      [jobId, afterSeq, Math.min(limit, JOB_LIMITS.maxResultsPage)],
    );
    return rows.map((row) => ({ seq: row.seq, recordId: row.record_id, outcome: row.outcome, data: row.data, charged: row.charged }));
  }

  /** Credits still to earmark: every pending record at full price, minus what the hold has, within the cap. */
  async function creditsNeeded(client: Queryable, job: JobRow, hold: HoldState | null): Promise<{ needed: Micros; capReached: boolean }> {
    const unitPrice = enrichmentFeature(job.feature).unitPrice;
    const { rows } = await client.query<{ pending: number }>('SELECT count(*)::bigint AS pending FROM job_records WHERE job_id = $1 AND outcome IS NULL', [job.job_id]);
    const pendingCost = multiplyMicros(unitPrice, rows[0]?.pending ?? 0);
    const held = hold?.held ?? 0;
    let needed = Math.max(0, pendingCost - held);
    let capReached = false;
    if (job.max_credits !== null) {
      const room = job.max_credits - (hold?.charged ?? 0) - held;
      if (room < unitPrice && needed > 0 && held < unitPrice) capReached = true;
      needed = Math.max(0, Math.min(needed, room));
    }
    return { needed, capReached };
  }

  async function setStatus(client: Queryable, job: JobRow, status: JobStatus, pauseReason: PauseReason | null, event: EventType | null, now: Date, payload: Record<string, unknown> = {}): Promise<void> {
    if (!canMoveJob(job.status, status)) throw new Error(`invariant: job ${job.job_id} cannot go from ${job.status} to ${status}`);
    await client.query('UPDATE jobs SET status = $2, pause_reason = $3, updated_at = $4 WHERE job_id = $1', [job.job_id, status, pauseReason, now]);
    // The caller's row follows, so that a second move in the same transaction is checked from here.
    job.status = status;
    if (event) await appendEvent(client, { type: event, accountId: job.account_id, jobId: job.job_id, payload: { status, pauseReason, ...payload } }, now);
  }

  /**
   * Starts a draft job: reserves its maximum (or what there is) and marks it running, or paused
   * when nothing could be reserved. Repeating it (an activity retry) returns the job as it is.
   */
  async function begin(jobId: string, now: Date): Promise<JobView> {
    await transaction(async (client) => {
      const job = await readJob(client, jobId, true);
      if (job.status !== 'draft') return;
      const { needed } = await creditsNeeded(client, job, null);
      if (needed === 0) {
        await setStatus(client, job, 'running', null, 'job.started', now, { reserved: 0, records: job.record_count });
        return;
      }
      const hold = await ledger.within(client).reserve({
        accountId: job.account_id,
        userId: job.user_id,
        feature: job.feature,
        jobId,
        maxCredits: needed,
        ...engineKeys.jobHold(jobId),
        now,
      });
      await client.query('UPDATE jobs SET hold_id = $2 WHERE job_id = $1', [jobId, hold.holdId]);
      await setStatus(client, job, 'running', null, 'job.started', now, { reserved: hold.reserved, records: job.record_count });
      if (hold.reserved === 0) await setStatus(client, job, 'paused', 'OUT_OF_CREDITS', 'job.paused', now);
    });
    return getJob(jobId, now);
  }

  /** Earmarks more credits for the records left; `resume` also turns a paused job back to running. */
  async function reserveMore(
    jobId: string,
    now: Date,
    resume: boolean,
  ): Promise<{ added: Micros; held: Micros; canPay: boolean; capReached: boolean; available: Micros; needed: Micros }> {
    return transaction(async (client) => {
      const job = await readJob(client, jobId, true);
      if (!job.hold_id) throw new LedgerError('JOB_STATE_CONFLICT', `job "${jobId}" has not started`, { jobId });
      const before = await holdOf(client, job, now);
      const { needed, capReached } = await creditsNeeded(client, job, before);
      let added = 0;
      if (needed > 0) {
        const key = engineKeys.jobHoldExtension(jobId, before?.reserved ?? 0, before?.charged ?? 0, now);
        ({ reserved: added } = await ledger.within(client).extendHold({ accountId: job.account_id, holdId: job.hold_id, maxCredits: needed, ...key, now }));
      }
      const held = (await holdOf(client, job, now))?.held ?? 0;
      // Held credits worth less than one record cannot pay for anything: that is still "out of credits".
      const canPay = held >= enrichmentFeature(job.feature).unitPrice;
      if (resume && job.status === 'paused' && canPay) await setStatus(client, job, 'running', null, 'job.resumed', now, { reserved: added });
      const available = (await ledger.within(client).balance({ accountId: job.account_id, now })).available;
      return { added, held, canPay, capReached, available, needed };
    });
  }

  async function pause(jobId: string, reason: PauseReason, now: Date): Promise<void> {
    await transaction(async (client) => {
      const job = await readJob(client, jobId, true);
      if (job.status === 'running') await setStatus(client, job, 'paused', reason, 'job.paused', now);
    });
  }

  /**
   * Ends a job: releases what its hold still earmarks and records how it ended (`failed` with the
   * reason its workflow failed). A job that has already ended is left as it is.
   */
  async function finish(jobId: string, status: FinalJobStatus, stopReason: string | null, now: Date): Promise<JobView> {
    await transaction(async (client) => {
      const job = await readJob(client, jobId, true);
      if (isFinalJobStatus(job.status)) return;
      const released = job.hold_id ? await ledger.within(client).releaseHold({ accountId: job.account_id, holdId: job.hold_id, now }) : null;
      await client.query('UPDATE jobs SET stop_reason = $2 WHERE job_id = $1', [jobId, stopReason]);
      await setStatus(client, job, status, null, `job.${status}`, now, {
        charged: released?.charged ?? 0,
        released: released?.released ?? 0,
        stopReason,
      });
    });
    return getJob(jobId, now);
  }

  /**
   * Records that the job's cancellation was asked for, under the job row's lock: every later store
   * of its results is refused, so nothing enriched after the cancel is charged. Repeating it keeps
   * the first instant; a job that has ended is left as it is.
   */
  async function requestCancel(jobId: string, now: Date): Promise<void> {
    await transaction(async (client) => {
      const job = await readJob(client, jobId, true);
      if (isFinalJobStatus(job.status)) return;
      await client.query('UPDATE jobs SET cancel_requested_at = coalesce(cancel_requested_at, $2) WHERE job_id = $1', [jobId, now]);
    });
  }

  /** The first records without a stored result, in append order (a partial index keeps this cheap). */
  async function pendingRecords(jobId: string, limit: number): Promise<PendingRecord[]> {
    const { rows } = await pool.query<{ seq: number; record_id: string; input: unknown }>(
      'SELECT seq, record_id, input FROM job_records WHERE job_id = $1 AND outcome IS NULL ORDER BY seq LIMIT $2',
      [jobId, Math.min(limit, JOB_LIMITS.maxBatchSize)],
    );
    return rows.map((row) => ({ seq: row.seq, recordId: row.record_id, input: row.input }));
  }

  /** What the job's hold can still pay for, now: whole records at the feature's price. */
  async function budget(jobId: string, now: Date): Promise<{ unitPrice: Micros; affordable: number; feature: Feature; accountId: string }> {
    const job = await readJob(pool, jobId);
    const feature = enrichmentFeature(job.feature);
    const hold = await holdOf(pool, job, now);
    return { unitPrice: feature.unitPrice, affordable: Math.floor((hold?.held ?? 0) / Math.max(feature.unitPrice, 1)), feature, accountId: job.account_id };
  }

  /**
   * Stores a flush of results in one round trip (`credits_store_job_results`), in a batch with the
   * account's concurrent charges: every result not stored yet, and every chargeable one together
   * with its charge on the hold. A record already stored (by an earlier attempt) is skipped and never
   * charged again. Chargeable results the hold cannot pay for are not stored.
   */
  async function storeResults(jobId: string, results: readonly RecordResult[], now: Date): Promise<StoredResults> {
    const job = await readJob(pool, jobId);
    const feature = enrichmentFeature(job.feature);
    return ledger.storeJobResults({
      kind: 'job_results',
      accountId: job.account_id,
      jobId,
      results: results.map((result) => ({ seq: result.seq, recordId: result.recordId, outcome: result.outcome, data: result.data ?? null })),
      chargeableOutcomes: feature.chargeableOutcomes ?? [],
      failedOutcome: FAILED_OUTCOME,
      now: now.toISOString(),
    });
  }

  return { createJob, appendRecords, jobStatus, getJob, listJobs, results, begin, reserveMore, pause, requestCancel, finish, pendingRecords, budget, storeResults };
}
