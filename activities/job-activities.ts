import { setMaxListeners } from 'node:events';
import { activityInfo, cancellationSignal, heartbeat } from '@temporalio/activity';
import PQueue from 'p-queue';
import { addProgress, NO_PROGRESS, type JobProgress } from '../src/contract/job-progress.js';
import { flushProgress, type JobStore, type JobView, type RecordResult, type Reservation } from '../src/jobs/jobs.js';
import type { FinalJobStatus, PauseReason } from '../src/contract/job-status.js';
import type { EnrichmentProvider } from '../src/providers/provider.js';
import { asActivityFailure } from './failures.js';

export interface JobActivityDeps {
  jobs: JobStore;
  provider: EnrichmentProvider;
  /** Provider calls in flight at once for one batch. */
  batchConcurrency: number;
  /** Results are stored (and charged) in flushes of at most this many, or after `flushIntervalMs`. */
  flushSize: number;
  flushIntervalMs: number;
  clock?: () => Date;
}

export interface BatchResult {
  /** What this batch stored, over all its attempts. */
  progress: JobProgress;
  /** The hold could not pay for more records: the workflow must reserve more or pause. */
  outOfCredits: boolean;
  /** No pending record was left: the job is done. */
  exhausted: boolean;
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
  const { jobs, provider } = deps;

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

    /**
     * Enriches the first pending records (in append order): never more at once than the hold can pay
     * for (a record whose outcome is not chargeable gives its place back), calling the provider
     * with bounded concurrency and storing results in flushes, each with its charge. Heartbeats
     * after every flush, so a dead worker is noticed and the retry skips what was stored.
     */
    async processBatch(input: { jobId: string; limit: number; notBefore: string }): Promise<BatchResult> {
      return asActivityFailure(async () => {
        const signal = cancellationSignal();
        // Every provider call in flight listens on the one cancellation signal.
        setMaxListeners(deps.batchConcurrency + 10, signal);
        const records = await jobs.pendingRecords(input.jobId, input.limit);
        // A retried attempt skips what an earlier attempt stored; its heartbeat carries what that was.
        const earlier = (activityInfo().heartbeatDetails as BatchHeartbeat | undefined)?.progress;
        const totals: BatchResult = { progress: earlier ?? NO_PROGRESS, outOfCredits: false, exhausted: records.length === 0 };
        if (records.length === 0) return totals;
        const { affordable, feature } = await jobs.budget(input.jobId, nowFrom(input.notBefore, clock));
        const chargeable = new Set(feature.chargeableOutcomes);

        let places = affordable;
        // The job's row refused a flush: its cancellation was asked for, so the batch stops here.
        const refused = { cancelled: false };
        let unflushed: RecordResult[] = [];
        let lastFlush = Date.now();
        const flush = async (): Promise<void> => {
          if (unflushed.length === 0) return;
          const batch = unflushed;
          unflushed = [];
          lastFlush = Date.now();
          const stored = await jobs.storeResults(input.jobId, batch, nowFrom(input.notBefore, clock));
          if (stored.cancelled) {
            refused.cancelled = true;
            // Records queued but not yet sent to the provider are not sent: they would be refused too.
            queue.clear();
            return;
          }
          totals.progress = addProgress(totals.progress, flushProgress(stored));
          if (stored.unpaid > 0) totals.outOfCredits = true;
          heartbeat({ progress: totals.progress } satisfies BatchHeartbeat);
        };

        const queue = new PQueue({ concurrency: deps.batchConcurrency });
        // A provider call that throws (the activity is cancelled, the worker shuts down) stops the
        // batch: what was enriched is still stored and charged, then the attempt fails and is retried.
        // A flush that fails (the database is gone) stops it too; its records stay pending for the retry.
        let failure: { error: unknown } | undefined;
        let flushing = Promise.resolve();
        const scheduleFlush = (): void => {
          flushing = flushing.then(flush).catch((error: unknown) => {
            failure ??= { error };
          });
        };
        for (const record of records) {
          if (failure || refused.cancelled) break;
          if (places === 0) await queue.onIdle();
          if (places === 0 || totals.outOfCredits) {
            totals.outOfCredits = true;
            break;
          }
          places--;
          queue
            .add(async () => {
              const result = await provider.enrich({ feature: feature.id, recordId: record.recordId, input: record.input }, signal);
              if (!chargeable.has(result.outcome)) places++;
              unflushed.push({ seq: record.seq, recordId: record.recordId, outcome: result.outcome, data: result.data ?? null });
              if (unflushed.length >= deps.flushSize || Date.now() - lastFlush >= deps.flushIntervalMs) scheduleFlush();
            })
            .catch((error: unknown) => {
              failure ??= { error };
            });
        }
        await queue.onIdle();
        scheduleFlush();
        await flushing;
        if (failure && !refused.cancelled) throw failure.error;
        return totals;
      });
    },
  };
}

export type JobActivities = ReturnType<typeof createJobActivities>;
