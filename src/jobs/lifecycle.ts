import { canMoveJob, isFinalJobStatus, type FinalJobStatus, type JobStatus, type PauseReason } from '../contract/job-status.js';
import { appendEvent, type EventType } from '../events/outbox.js';
import type { Queryable } from '../ledger/db.js';
import { LedgerError } from '../ledger/errors.js';
import { engineKeys } from '../ledger/keys.js';
import { ZERO_MICROS, type Micros } from '../money.js';
import { creditsNeeded, enrichmentFeature, holdOf, inTransaction, readJob, type JobDeps, type JobRow } from './job.js';
import { getJob, type JobView } from './reads.js';

/** Where a reservation left the job: what was added and held, and whether the hold can pay for a record. */
export interface Reservation {
  added: Micros;
  held: Micros;
  canPay: boolean;
  capReached: boolean;
  /** The account's available balance, once this reservation is in. */
  available: Micros;
  /** What the job still needs once this reservation is in (`creditsNeeded`, as its view says). */
  needed: Micros;
}

/** Moves the job's row (a move the transition table allows, or it is a bug) and records its event. */
async function setStatus(
  client: Queryable,
  job: JobRow,
  move: { status: JobStatus; pauseReason: PauseReason | null; event: EventType; now: Date; payload?: Record<string, unknown> },
): Promise<void> {
  const { status, pauseReason, event, now } = move;
  if (!canMoveJob(job.status, status)) throw new Error(`invariant: job ${job.job_id} cannot go from ${job.status} to ${status}`);
  await client.query('UPDATE jobs SET status = $2, pause_reason = $3, updated_at = $4 WHERE job_id = $1', [job.job_id, status, pauseReason, now]);
  // The caller's row follows, so that a second move in the same transaction is checked from here.
  job.status = status;
  await appendEvent(client, { type: event, accountId: job.account_id, jobId: job.job_id, payload: { status, pauseReason, ...move.payload } }, now);
}

/**
 * Starts a draft job: reserves its maximum (or what there is) and marks it running, or paused
 * when nothing could be reserved. Repeating it (an activity retry) returns the job as it is.
 */
export async function begin(deps: JobDeps, input: { jobId: string; now: Date }): Promise<JobView> {
  const { jobId, now } = input;
  await inTransaction(deps, async (client) => {
    const job = await readJob(client, jobId, { lock: true });
    if (job.status !== 'draft') return;
    const { needed } = creditsNeeded(deps, job, null);
    const started = { status: 'running', pauseReason: null, event: 'job.started', now } as const;
    if (needed === 0) {
      await setStatus(client, job, { ...started, payload: { reserved: 0, records: job.record_count } });
      return;
    }
    const hold = await deps.ledger.within(client).reserve({
      accountId: job.account_id,
      userId: job.user_id,
      feature: job.feature,
      jobId,
      maxCredits: needed,
      ...engineKeys.jobHold(jobId),
      now,
    });
    await client.query('UPDATE jobs SET hold_id = $2 WHERE job_id = $1', [jobId, hold.holdId]);
    await setStatus(client, job, { ...started, payload: { reserved: hold.reserved, records: job.record_count } });
    if (hold.reserved === 0) await setStatus(client, job, { status: 'paused', pauseReason: 'OUT_OF_CREDITS', event: 'job.paused', now });
  });
  return getJob(deps, input);
}

/** Earmarks more credits for the records left; `resume` also turns a paused job back to running. */
export async function reserveMore(deps: JobDeps, input: { jobId: string; now: Date; resume: boolean }): Promise<Reservation> {
  const { jobId, now } = input;
  return inTransaction(deps, async (client) => {
    const job = await readJob(client, jobId, { lock: true });
    if (!job.hold_id) throw new LedgerError('JOB_STATE_CONFLICT', `job "${jobId}" has not started`, { jobId });
    const ledger = deps.ledger.within(client);
    const before = await holdOf(deps, client, job, now);
    // A job cancelled while its workflow was about to reserve has released its hold: nothing is needed, nothing added.
    const { needed, capReached } = creditsNeeded(deps, job, before);
    let added = ZERO_MICROS;
    if (needed > 0) {
      const key = engineKeys.jobHoldExtension(jobId, before?.reserved ?? 0, before?.charged ?? 0, now);
      ({ reserved: added } = await ledger.extendHold({ accountId: job.account_id, holdId: job.hold_id, maxCredits: needed, ...key, now }));
    }
    const after = await holdOf(deps, client, job, now);
    const held = after?.held ?? ZERO_MICROS;
    // Held credits worth less than one record cannot pay for anything: that is still "out of credits".
    const canPay = held >= enrichmentFeature(deps, job.feature).unitPrice;
    if (input.resume && job.status === 'paused' && canPay) {
      await setStatus(client, job, { status: 'running', pauseReason: null, event: 'job.resumed', now, payload: { reserved: added } });
    }
    const available = (await ledger.balance({ accountId: job.account_id, now })).available;
    return { added, held, canPay, capReached, available, needed: creditsNeeded(deps, job, after).needed };
  });
}

export async function pause(deps: JobDeps, input: { jobId: string; reason: PauseReason; now: Date }): Promise<void> {
  await inTransaction(deps, async (client) => {
    const job = await readJob(client, input.jobId, { lock: true });
    if (job.status === 'running') await setStatus(client, job, { status: 'paused', pauseReason: input.reason, event: 'job.paused', now: input.now });
  });
}

/**
 * Records that the job's cancellation was asked for, under the job row's lock: every later store
 * of its results is refused, so nothing enriched after the cancel is charged. Repeating it keeps
 * the first instant; a job that has ended is left as it is.
 */
export async function requestCancel(deps: JobDeps, input: { jobId: string; now: Date }): Promise<void> {
  await inTransaction(deps, async (client) => {
    const job = await readJob(client, input.jobId, { lock: true });
    if (isFinalJobStatus(job.status)) return;
    await client.query('UPDATE jobs SET cancel_requested_at = coalesce(cancel_requested_at, $2) WHERE job_id = $1', [input.jobId, input.now]);
  });
}

/**
 * Ends a job: releases what its hold still earmarks and records how it ended (`failed` with the
 * reason its workflow failed). A job that has already ended is left as it is.
 */
export async function finish(deps: JobDeps, input: { jobId: string; status: FinalJobStatus; stopReason: string | null; now: Date }): Promise<JobView> {
  const { jobId, status, stopReason, now } = input;
  await inTransaction(deps, async (client) => {
    const job = await readJob(client, jobId, { lock: true });
    if (isFinalJobStatus(job.status)) return;
    const released = job.hold_id ? await deps.ledger.within(client).releaseHold({ accountId: job.account_id, holdId: job.hold_id, now }) : null;
    await client.query('UPDATE jobs SET stop_reason = $2 WHERE job_id = $1', [jobId, stopReason]);
    await setStatus(client, job, {
      status,
      pauseReason: null,
      event: `job.${status}`,
      now,
      payload: { charged: released?.charged ?? 0, released: released?.released ?? 0, stopReason },
    });
  });
  return getJob(deps, input);
}
