import { setMaxListeners } from 'node:events';
import { activityInfo, cancellationSignal, heartbeat } from '@temporalio/activity';
import { addProgress, NO_PROGRESS, type JobProgress } from '../src/contract/job-progress.js';
import { JOB_LIMITS } from '../src/contract/limits.js';
import type { JobView, Reservation } from '../src/jobs/jobs.js';
import type { FinalJobStatus, PauseReason } from '../src/contract/job-status.js';
import type { SeqRange } from '../workflows/job-messages.js';
import { runBatchPipeline, type BatchPipelineDeps } from './batch-pipeline.js';
import { asActivityFailure } from './failures.js';

export interface JobActivityDeps extends BatchPipelineDeps {
  /** Batches of one job the workflow may run at once, each over its own range of records. */
  parallelBatches: number;
  clock?: () => Date;
}

export interface BatchInput {
  jobId: string;
  /** Most records the batch enriches: its range's first pending ones (the job's, without a range). */
  limit: number;
  notBefore: string;
  /** The records (by seq) the batch may enrich; the whole job when absent (a run started before parallel batches). */
  seqRange?: SeqRange;
  /** Batches of the job that may be running at once, this one included (1 when absent). */
  parallelBatches?: number;
}

export interface BatchResult {
  /** What this batch stored, over all its attempts. */
  progress: JobProgress;
  /** The hold could not pay for more records: the workflow must reserve more or pause. */
  outOfCredits: boolean;
  /** No pending record is left in its range (in the job, without a range). */
  exhausted: boolean;
  /**
   * It was one of several at once, and the hold could not pay for every record they may send: it
   * sent nothing, and the workflow runs one batch at a time until its next reservation.
   */
  holdShort: boolean;
  /** The job's cancellation was asked for: it sent nothing more. */
  cancelled: boolean;
}

/** How the workflow splits a job: its records are seqs 1..lastSeq, and this many batches of it may run at once. */
export interface BatchPlan {
  lastSeq: number;
  parallelBatches: number;
}

/** A batch's heartbeat details: what its attempts have stored so far (optional: an attempt of the release before sent another shape). */
interface BatchHeartbeat {
  progress?: JobProgress;
}

/**
 * Workflow time is the floor: on the time-skipping test server it is ahead of the wall clock, and
 * in production the wall clock is later than the moment the workflow scheduled the activity.
 */
function nowFrom(notBefore: string, clock: () => Date): Date {
  return new Date(Math.max(new Date(notBefore).getTime(), clock().getTime()));
}

export function createJobActivities(deps: JobActivityDeps) {
  const clock = deps.clock ?? (() => new Date());
  const { jobs } = deps;

  return {
    async beginJob(input: { jobId: string; notBefore: string }): Promise<JobView> {
      return asActivityFailure(() => jobs.begin(input.jobId, nowFrom(input.notBefore, clock)));
    },

    async reserveForJob(input: { jobId: string; notBefore: string; resume: boolean }): Promise<Reservation> {
      return asActivityFailure(() => jobs.reserveMore(input.jobId, nowFrom(input.notBefore, clock), input.resume));
    },

    async pauseJob(input: { jobId: string; reason: PauseReason; notBefore: string }): Promise<void> {
      await asActivityFailure(() => jobs.pause(input.jobId, input.reason, nowFrom(input.notBefore, clock)));
    },

    /** Marks the job's cancellation in its row: from then on no result of it is stored or charged. */
    async requestJobCancel(input: { jobId: string; notBefore: string }): Promise<void> {
      await asActivityFailure(() => jobs.requestCancel(input.jobId, nowFrom(input.notBefore, clock)));
    },

    async finishJob(input: { jobId: string; status: FinalJobStatus; stopReason: string | null; notBefore: string }): Promise<JobView> {
      return asActivityFailure(() => jobs.finish(input.jobId, input.status, input.stopReason, nowFrom(input.notBefore, clock)));
    },

    async planBatches(input: { jobId: string }): Promise<BatchPlan> {
      return asActivityFailure(async () => ({ lastSeq: await jobs.lastSeq(input.jobId), parallelBatches: deps.parallelBatches }));
    },

    /**
     * Enriches the first pending records of its range (in append order) through the pipeline of
     * `runBatchPipeline`: never more at once than the hold can pay for (a record whose outcome is not
     * chargeable gives its place back), storing results in flushes, each with its charge.
     * Heartbeats after every flush, so a dead worker is noticed and the retry skips what was stored.
     *
     * One of several batches at once, it spends only if the hold can pay for everything they may
     * send together (each up to `limit` records, or every pending record of the job if fewer):
     * charges and "not chargeable" results keep that true, so none of them can send a record the
     * hold cannot pay for. Shares of what the hold pays for would not: a batch started after
     * another ended would count that one's share again, while batches begun before still spend theirs.
     */
    async processBatch(input: BatchInput): Promise<BatchResult> {
      return asActivityFailure(async () => {
        const signal = cancellationSignal();
        // Every provider call in flight listens on the one cancellation signal, while it waits for a provider slot and while it is answered.
        setMaxListeners(2 * deps.batchConcurrency + 10, signal);
        const now = () => nowFrom(input.notBefore, clock);
        // A retried attempt skips what an earlier attempt stored; its heartbeat carries what that was.
        const earlier = (activityInfo().heartbeatDetails as BatchHeartbeat | undefined)?.progress ?? NO_PROGRESS;
        const unchanged: BatchResult = { progress: earlier, outOfCredits: false, exhausted: false, holdShort: false, cancelled: false };
        const budget = await jobs.budget(input.jobId, now());
        if (budget.cancelRequested) return { ...unchanged, cancelled: true };
        if (budget.pending === 0) return { ...unchanged, exhausted: true };
        const limit = Math.min(input.limit, JOB_LIMITS.maxBatchSize);
        const together = input.parallelBatches ?? 1;
        if (together > 1 && budget.affordable < Math.min(budget.pending, together * limit)) return { ...unchanged, holdShort: true };

        const outcome = await runBatchPipeline(deps, {
          jobId: input.jobId,
          featureId: budget.feature.id,
          chargeableOutcomes: budget.feature.chargeableOutcomes ?? [],
          window: input.seqRange ? { afterSeq: input.seqRange.first - 1, lastSeq: input.seqRange.last } : { afterSeq: 0, lastSeq: JOB_LIMITS.maxRecordsPerJob },
          limit,
          places: budget.affordable,
          now,
          signal,
          stored: (progress) => {
            heartbeat({ progress: addProgress(earlier, progress) } satisfies BatchHeartbeat);
          },
        });
        const { outOfCredits, cancelled } = outcome;
        return { progress: addProgress(earlier, outcome.progress), outOfCredits, cancelled, holdShort: false, exhausted: outcome.readToEnd && !outOfCredits && !cancelled };
      });
    },
  };
}

export type JobActivities = ReturnType<typeof createJobActivities>;
