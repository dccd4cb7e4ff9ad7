import PQueue from 'p-queue';
import { addProgress, NO_PROGRESS, type JobProgress } from '../src/contract/job-progress.js';
import { flushProgress, type JobStore, type PendingRecord, type RecordResult, type SeqWindow } from '../src/jobs/jobs.js';
import { jobMetrics } from '../src/metrics/metrics.js';
import type { EnrichmentProvider } from '../src/providers/provider.js';

/** How a worker runs one batch's pipeline. */
export interface BatchPipelineDeps {
  jobs: JobStore;
  provider: EnrichmentProvider;
  /** Provider calls in flight at once for one batch. */
  batchConcurrency: number;
  /** Results stored (and charged) per flush, at most; records are read in pages of the same size. */
  flushSize: number;
  /** A flush at least this often while results come in. */
  flushIntervalMs: number;
  /** Records one batch has read and not yet stored (at the provider, waiting for a flush, in one): never more. */
  maxInFlightRecords: number;
}

/** One batch's share of a job: where it reads, how much, and what the hold can pay for. */
export interface BatchWork {
  jobId: string;
  featureId: string;
  chargeableOutcomes: readonly string[];
  window: SeqWindow;
  /** Most records the batch reads. */
  limit: number;
  /** Records the hold can pay for as the batch starts: a record takes a place while it is sent, and a result that is not chargeable gives it back. */
  places: number;
  now: () => Date;
  signal: AbortSignal;
  /** After every stored flush, with what the batch has stored so far. */
  stored: (progress: JobProgress) => void;
}

export interface PipelineOutcome {
  progress: JobProgress;
  /** The hold could not pay for more records. */
  outOfCredits: boolean;
  /** The job's row refused a flush: its cancellation was asked for. */
  cancelled: boolean;
  /** The batch read every pending record of its window (it may still have stopped before sending them all). */
  readToEnd: boolean;
}

/**
 * One batch as a pipeline: its pending records are read a page at a time, the next page while the
 * provider works on the current one; they are enriched with bounded concurrency; results are stored
 * in flushes, one at a time, while the next records are sent. At most `maxInFlightRecords` records
 * are read and not yet stored, so a batch's memory does not grow with the job (or with a slow
 * database). A provider call that throws (the activity is cancelled, the worker shuts down) stops
 * the reading: what was enriched is still stored and charged, then the error is thrown. A flush the
 * job's row refuses (cancelled) stops everything: records not yet sent are not sent.
 */
export async function runBatchPipeline(deps: BatchPipelineDeps, work: BatchWork): Promise<PipelineOutcome> {
  const { jobs, provider } = deps;
  const pageSize = Math.min(deps.flushSize, deps.maxInFlightRecords);
  const chargeable = new Set(work.chargeableOutcomes);
  const queue = new PQueue({ concurrency: deps.batchConcurrency });
  let progress: JobProgress = NO_PROGRESS;
  let places = work.places;
  // Set by the flushes and provider calls that run alongside the reader (an object: its fields change behind the reader's back).
  const stop: { outOfCredits: boolean; cancelled: boolean; storeFailed: boolean; failure?: { error: unknown } } = { outOfCredits: false, cancelled: false, storeFailed: false };
  let inFlight = 0;
  // Every change of `inFlight` moves the worker's gauge by as much; what is still counted at the end leaves it then.
  const addInFlight = (records: number): void => {
    inFlight += records;
    jobMetrics.inFlight.inc(records);
  };
  let unflushed: RecordResult[] = [];
  let flushing: Promise<void> | undefined;
  let lastFlushAt = Date.now();

  // The reader is the only one that waits for room; a flush that ends (or a stop) wakes it.
  let wakeReader: (() => void) | undefined;
  const nextChange = () =>
    new Promise<void>((resolve) => {
      wakeReader = resolve;
    });
  const changed = (): void => {
    const wake = wakeReader;
    wakeReader = undefined;
    wake?.();
  };
  const fail = (error: unknown): void => {
    stop.failure ??= { error };
    changed();
  };
  const sendingStopped = (): boolean => stop.failure !== undefined || stop.cancelled || stop.outOfCredits;

  const store = async (results: RecordResult[]): Promise<void> => {
    try {
      const stored = await jobs.storeResults(work.jobId, results, work.now());
      if (stored.cancelled) {
        stop.cancelled = true;
        // Records queued but not yet sent to the provider are not sent: they would be refused too.
        queue.clear();
        return;
      }
      const flushed = flushProgress(stored);
      progress = addProgress(progress, flushed);
      jobMetrics.records.inc({ outcome: 'verified' }, flushed.verified);
      jobMetrics.records.inc({ outcome: 'not_found' }, flushed.notFound);
      jobMetrics.records.inc({ outcome: 'failed' }, flushed.failed);
      if (stored.unpaid > 0) stop.outOfCredits = true;
      work.stored(progress);
    } catch (error) {
      // The database is gone: the records stay pending for the retry, and nothing more is flushed.
      stop.storeFailed = true;
      fail(error);
    }
  };

  const flushDue = (): boolean =>
    unflushed.length >= deps.flushSize ||
    Date.now() - lastFlushAt >= deps.flushIntervalMs ||
    // The reader waits for the room a flush makes; with nothing at the provider, no later result comes to trigger one.
    wakeReader !== undefined ||
    (queue.size === 0 && queue.pending === 0);
  const flush = (): void => {
    if (flushing || unflushed.length === 0 || stop.cancelled || stop.storeFailed) return;
    const results = unflushed.slice(0, deps.flushSize);
    unflushed = unflushed.slice(results.length);
    lastFlushAt = Date.now();
    flushing = store(results).finally(() => {
      flushing = undefined;
      addInFlight(-results.length);
      changed();
      if (flushDue()) flush();
    });
  };
  queue.on('idle', () => {
    if (flushDue()) flush();
  });

  const enrich = async (record: PendingRecord): Promise<void> => {
    const result = await provider.enrich({ feature: work.featureId, recordId: record.recordId, input: record.input }, work.signal);
    if (!chargeable.has(result.outcome)) places++;
    unflushed.push({ seq: record.seq, recordId: record.recordId, outcome: result.outcome, data: result.data ?? null });
    if (flushDue()) flush();
  };

  let readToEnd = false;
  try {
    let afterSeq = work.window.afterSeq;
    let read = 0;
    reading: while (!sendingStopped() && read < work.limit) {
      const count = Math.min(pageSize, work.limit - read);
      while (!sendingStopped() && inFlight + count > deps.maxInFlightRecords) {
        const roomMade = nextChange();
        flush();
        await roomMade;
      }
      if (sendingStopped()) break;
      addInFlight(count);
      const page = await jobs.pendingRecords(work.jobId, count, { afterSeq, lastSeq: work.window.lastSeq });
      addInFlight(page.length - count);
      read += page.length;
      const last = page.at(-1);
      readToEnd = last === undefined || page.length < count || last.seq >= work.window.lastSeq;
      for (const [index, record] of page.entries()) {
        // Outcomes still at the provider may give places back.
        if (places === 0) await queue.onIdle();
        if (places === 0) stop.outOfCredits = true;
        if (sendingStopped()) {
          addInFlight(index - page.length);
          break reading;
        }
        places--;
        queue
          .add(() => enrich(record))
          .catch((error: unknown) => {
            addInFlight(-1);
            fail(error);
          });
      }
      if (last === undefined || readToEnd) break;
      afterSeq = last.seq;
    }
  } catch (error) {
    fail(error);
  }
  await queue.onIdle();
  // What is left, in flushes of at most flushSize.
  for (;;) {
    if (flushing) await flushing;
    else if (unflushed.length > 0 && !stop.cancelled && !stop.storeFailed) flush();
    else break;
  }
  // Records a cancellation dropped, or a failed store left pending, are no longer this batch's.
  addInFlight(-inFlight);
  if (stop.failure && !stop.cancelled) throw stop.failure.error;
  return { progress, outOfCredits: stop.outOfCredits, cancelled: stop.cancelled, readToEnd };
}
