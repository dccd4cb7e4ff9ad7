import {
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  allHandlersFinished,
  isCancellation,
  patched,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BatchResult, JobActivities } from '../activities/job-activities.js';
import { formatCredits, microsToCredits, type Micros } from '../src/money.js';
import { canCancelJob, canResumeJob } from '../src/contract/job-status.js';
import { zonedIso } from '../src/periods/periods.js';
import {
  cancelJobUpdate,
  jobStateQuery,
  resumeJobUpdate,
  startedJobUpdate,
  type JobCancelResult,
  type JobCarried,
  type JobResult,
  type JobStarted,
  type JobState,
  type JobWorkflowInput,
  type ResumeResult,
  type SeqRange,
} from './job-messages.js';
import { ACCOUNT_ID, FEATURE, JOB_STATUS } from './search-attributes.js';

const DEFAULT_BATCH_SIZE = 2_000;
const DEFAULT_BATCHES_PER_RUN = 100;
const MAX_STOP_REASON_LENGTH = 500;
/** Patch: a cancel marks the job's row first, which stops the batch under way (runs started before keep their history). */
const CANCEL_BATCH_IN_FLIGHT = 'cancel-batch-in-flight';
/** Patch: a cancel then ends the job (its hold released) before it answers, so its caller reads the job cancelled. */
const CANCEL_ENDS_JOB = 'cancel-ends-job';
/** Patch: a run that fails answers its updates in flight first, so a caller of 'started' hears that the job failed. */
const ANSWER_BEFORE_FAILING = 'answer-updates-before-failing';
/** Patch: batches over disjoint ranges of records, several at once (runs started before go on one batch at a time over the first pending records). */
const BATCHES_OVER_RANGES = 'batches-over-ranges';

const control = proxyActivities<JobActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', backoffCoefficient: 2 },
});

// A batch heartbeats after every flush: a worker that dies mid-batch is noticed within the heartbeat
// timeout and the retry, on any worker, skips every record whose result was stored.
const batches = proxyActivities<JobActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', backoffCoefficient: 2 },
});

/** What went wrong at the bottom of a failure chain ("Activity task failed" says little), with its type. */
function rootCause(error: unknown): string {
  let current = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  if (!(current instanceof Error)) return String(current);
  return current instanceof ApplicationFailure && current.type ? `${current.type}: ${current.message}` : current.message;
}

/** A run's state from the one before: only what drives the batches (runs before this release also carried their counters). */
function carriedFrom(carried: JobCarried | undefined): JobCarried {
  if (!carried) return { status: 'running', pauseReason: null, batches: 0, cancelRequested: false };
  const { status, pauseReason, batches, cancelRequested, nextSeq, unfinished } = carried;
  return { status, pauseReason, batches, cancelRequested, ...(nextSeq === undefined ? {} : { nextSeq }), ...(unfinished === undefined ? {} : { unfinished }) };
}

/** What a paused job lacks, as the last activity that looked said it, and when. */
interface Shortfall {
  needed: Micros;
  available: Micros;
  at: string;
}

/** A shortfall from an activity's answer; answers recorded before they carried both figures (replayed histories) give none. */
function shortfallOf(needed: Micros | undefined, available: Micros | undefined, at: string): Shortfall | null {
  return needed === undefined || available === undefined ? null : { needed, available, at };
}

/** How a batch started by the workflow ended: its result, or the failure it ended with. */
type SettledBatch = { range: SeqRange; result: BatchResult } | { range: SeqRange; failure: unknown };

/**
 * A bulk enrichment job: reserve its maximum up front, enrich records batch by batch (several at
 * once over disjoint ranges of its records, as the worker's plan allows) charging only
 * chargeable outcomes, reserve more when the hold runs dry, and when no credits are left pause with
 * OUT_OF_CREDITS and wait, with no timer, for an explicit resume. Completion or cancellation
 * releases whatever the hold still earmarks.
 */
export async function jobWorkflow(input: JobWorkflowInput): Promise<JobResult> {
  const { jobId, accountId, feature } = input;
  const batchSize = input.batchSize ?? DEFAULT_BATCH_SIZE;
  const batchesPerRun = input.batchesPerRun ?? DEFAULT_BATCHES_PER_RUN;
  const timeZone = input.timeZone ?? 'UTC';
  const notBefore = (): string => new Date(Date.now()).toISOString();
  // Only for the current details; not carried: a run continues as new only while its job runs.
  let shortfall: Shortfall | null = null;
  let stopReason: string | null = null;
  let batchesThisRun = 0;
  const state = carriedFrom(input.carried);
  // What 'started' answers; a run continued as new belongs to a job that has begun.
  let started: JobStarted | undefined = input.carried ? { status: state.status } : undefined;

  const view = (): JobState => ({ ...state, jobId, accountId, feature, stopReason });
  // Read through a function: the cancel handler sets it while the main loop awaits.
  const cancelRequested = (): boolean => state.cancelRequested;

  /** The Web UI's current details. Not a command (unlike a search attribute): it may change at any point without touching replay. */
  function describe(): void {
    const paused = state.status === 'paused';
    setCurrentDetails(
      [
        `**${jobId}** · ${state.status}${state.pauseReason ? ` (${state.pauseReason})` : ''} · ${feature} for ${accountId}`,
        paused && shortfall
          ? `At ${zonedIso(shortfall.at, timeZone)}: ${formatCredits(shortfall.needed)} credits still needed for its pending records, ${formatCredits(shortfall.available)} available on the account.`
          : '',
        paused ? `Waiting for an explicit resume (\`credits resume ${jobId}\`): a top-up or a new period does not restart it.` : '',
        `${state.batches} batches so far. Records and credits now: the job's row (\`GET /v1/jobs/${jobId}\`, \`credits job ${jobId}\`).`,
      ]
        .filter((line) => line.length > 0)
        .join('\n\n'),
    );
  }

  /** On every change of status (and after each round of batches): JobStatus is what operators filter on. */
  function publish(): void {
    upsertSearchAttributes([
      { key: ACCOUNT_ID, value: accountId },
      { key: FEATURE, value: feature },
      { key: JOB_STATUS, value: state.status },
    ]);
    describe();
  }

  setHandler(jobStateQuery, view);
  setHandler(startedJobUpdate, async (): Promise<JobStarted> => {
    // Not cancellable: a job whose workflow is cancelled as it begins still tells its caller how it ended.
    await CancellationScope.nonCancellable(() => condition(() => started !== undefined));
    if (!started) throw new Error(`invariant: job ${jobId} answered 'started' before it began`);
    return started;
  });
  setHandler(
    resumeJobUpdate,
    async (): Promise<ResumeResult> => {
      const at = notBefore();
      const reservation = await control.reserveForJob({ jobId, notBefore: at, resume: true });
      if (!reservation.canPay) {
        shortfall = shortfallOf(reservation.needed, reservation.available, at);
        describe();
        throw ApplicationFailure.create({
          type: 'INSUFFICIENT_CREDITS',
          message: `credits are still missing: the job needs ${formatCredits(reservation.needed)} more, ${formatCredits(reservation.available)} available`,
          nonRetryable: true,
          details: [{ needed: microsToCredits(reservation.needed), available: microsToCredits(reservation.available) }],
        });
      }
      state.status = 'running';
      state.pauseReason = null;
      shortfall = null;
      publish();
      log.info('job resumed', { jobId, reserved: reservation.added });
      return { status: state.status, reserved: reservation.added };
    },
    {
      validator: () => {
        if (!canResumeJob(state.status)) throw new Error(`job ${jobId} is ${state.status}: only a paused job can be resumed`);
      },
    },
  );
  setHandler(
    cancelJobUpdate,
    async (): Promise<JobCancelResult> => {
      // The row first: a batch under way stores and charges nothing from then on, and stops at its next flush.
      if (patched(CANCEL_BATCH_IN_FLIGHT)) await control.requestJobCancel({ jobId, notBefore: notBefore() });
      state.cancelRequested = true;
      // Nothing is charged any more, so the hold can be released now rather than once the batch has stopped.
      if (patched(CANCEL_ENDS_JOB)) {
        const ended = await control.finishJob({ jobId, status: 'cancelled', stopReason: null, notBefore: notBefore() });
        return { status: ended.status };
      }
      return { status: state.status };
    },
    {
      validator: () => {
        if (!canCancelJob(state.status)) throw new Error(`job ${jobId} is already ${state.status}`);
      },
    },
  );

  /** Out of credits: reserve more, or pause (or stop at the job's cap) when nothing more can be reserved. */
  async function reserveOrPause(): Promise<'reserved' | 'paused' | 'capped'> {
    const at = notBefore();
    const reservation = await control.reserveForJob({ jobId, notBefore: at, resume: false });
    if (reservation.canPay) return 'reserved';
    if (reservation.capReached) {
      stopReason = 'CREDIT_CAP_REACHED';
      return 'capped';
    }
    await control.pauseJob({ jobId, reason: 'OUT_OF_CREDITS', notBefore: notBefore() });
    state.status = 'paused';
    state.pauseReason = 'OUT_OF_CREDITS';
    shortfall = shortfallOf(reservation.needed, reservation.available, at);
    log.info('job paused: out of credits', { jobId, batches: state.batches });
    return 'paused';
  }

  /** Runs started before batches over ranges: one batch at a time, each over the job's first pending records. */
  async function batchesOneAtATime(): Promise<void> {
    for (;;) {
      if (state.status === 'paused') {
        await condition(() => state.status !== 'paused' || cancelRequested());
      }
      if (cancelRequested()) return;
      if (batchesThisRun >= batchesPerRun || workflowInfo().continueAsNewSuggested) {
        await condition(allHandlersFinished);
        return await continueAsNew<typeof jobWorkflow>({ ...input, carried: state });
      }
      const batch = await batches.processBatch.executeWithOptions(
        {
          startToCloseTimeout: '30 minutes',
          heartbeatTimeout: '10 seconds',
          summary: `batch ${state.batches + 1}: up to ${batchSize} pending records`,
        },
        [{ jobId, limit: batchSize, notBefore: notBefore() }],
      );
      state.batches++;
      batchesThisRun++;
      if (batch.exhausted) return;
      if (batch.outOfCredits && !cancelRequested() && (await reserveOrPause()) === 'capped') return;
      publish();
    }
  }

  /**
   * Batches over disjoint ranges of the job's records (seqs 1..lastSeq, batchSize each), as many at
   * once as the worker's plan allows while the hold can pay for all they may send (a batch that finds
   * it cannot reports `holdShort`: one at a time then, until the next reservation). A range a batch
   * did not finish is redone before the next new one; out of credits, cancelled, failed or at the
   * run's share of batches, no new batch starts and the ones running are waited for.
   */
  async function batchesOverRanges(): Promise<void> {
    const plan = await control.planBatches({ jobId });
    let nextSeq = state.nextSeq ?? 1;
    const unfinished = [...(state.unfinished ?? [])];
    const settled: SettledBatch[] = [];
    let running = 0;
    let together = true;
    let outOfCredits = false;
    let cancelSeen = false;
    let failure: { error: unknown } | undefined;

    const lanes = (): number => (together ? plan.parallelBatches : 1);
    const mayStart = (): boolean =>
      failure === undefined && !cancelRequested() && !cancelSeen && !outOfCredits && state.status === 'running' && batchesThisRun < batchesPerRun && !workflowInfo().continueAsNewSuggested;
    const nextRange = (): SeqRange | undefined => {
      const redo = unfinished.shift();
      if (redo || nextSeq > plan.lastSeq) return redo;
      const range = { first: nextSeq, last: Math.min(nextSeq + batchSize - 1, plan.lastSeq) };
      nextSeq = range.last + 1;
      return range;
    };
    const start = (range: SeqRange): void => {
      state.batches++;
      batchesThisRun++;
      running++;
      batches.processBatch
        .executeWithOptions(
          { startToCloseTimeout: '30 minutes', heartbeatTimeout: '10 seconds', summary: `batch ${state.batches}: records ${range.first} to ${range.last}` },
          [{ jobId, limit: batchSize, notBefore: notBefore(), seqRange: range, parallelBatches: lanes() }],
        )
        .then(
          (result) => settled.push({ range, result }),
          (error: unknown) => settled.push({ range, failure: error }),
        );
    };

    for (;;) {
      while (mayStart() && running < lanes()) {
        const range = nextRange();
        if (!range) break;
        start(range);
      }
      if (running === 0) {
        if (failure) throw failure.error;
        // The batch saw the job's row cancelled: the cancel update that marked it is about to say so here.
        if (cancelSeen) await condition(cancelRequested);
        if (cancelRequested()) return;
        if (outOfCredits) {
          outOfCredits = false;
          together = true;
          if ((await reserveOrPause()) === 'capped') return;
          publish();
          continue;
        }
        if (state.status === 'paused') {
          await condition(() => state.status !== 'paused' || cancelRequested());
          together = true;
          continue;
        }
        if (unfinished.length === 0 && nextSeq > plan.lastSeq) return;
        await condition(allHandlersFinished);
        return await continueAsNew<typeof jobWorkflow>({ ...input, carried: { ...state, nextSeq, unfinished } });
      }
      await condition(() => settled.length > 0);
      for (const batch of settled.splice(0)) {
        running--;
        if ('failure' in batch) {
          failure ??= { error: batch.failure };
          continue;
        }
        const { result, range } = batch;
        if (!result.exhausted) unfinished.push(range);
        if (result.holdShort) together = false;
        if (result.cancelled) cancelSeen = true;
        if (result.outOfCredits && !cancelRequested()) outOfCredits = true;
      }
      publish();
    }
  }

  try {
    if (!input.carried) {
      const at = notBefore();
      const begun = await control.beginJob({ jobId, notBefore: at });
      if (begun.status === 'paused') {
        state.status = 'paused';
        state.pauseReason = 'OUT_OF_CREDITS';
        shortfall = shortfallOf(begun.credits.needed, begun.credits.accountAvailable, at);
      }
      started = { status: begun.status };
    }
    publish();

    if (patched(BATCHES_OVER_RANGES)) await batchesOverRanges();
    else await batchesOneAtATime();
    await condition(allHandlersFinished);
    const finalStatus = cancelRequested() ? 'cancelled' : 'completed';
    const ended = await control.finishJob({ jobId, status: finalStatus, stopReason, notBefore: notBefore() });
    state.status = finalStatus;
    state.pauseReason = null;
    publish();
    return { ...view(), counters: ended.progress };
  } catch (error) {
    if (error instanceof ContinueAsNew) throw error;
    // The job's row and its hold must not outlive the workflow: whatever ended it (a non-retryable
    // activity failure, a cancellation from the Web UI or the CLI), the hold is released and the
    // job says why it stopped. This runs even when the workflow itself is being cancelled.
    const cancelled = isCancellation(error);
    const reason = cancelled ? 'the workflow was cancelled from outside' : rootCause(error);
    const ended = await CancellationScope.nonCancellable(() =>
      control.finishJob({ jobId, status: cancelled ? 'cancelled' : 'failed', stopReason: reason.slice(0, MAX_STOP_REASON_LENGTH), notBefore: notBefore() }),
    );
    state.status = cancelled ? 'cancelled' : 'failed';
    started ??= { status: ended.status };
    publish();
    if (patched(ANSWER_BEFORE_FAILING)) await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
    throw error;
  }
}
