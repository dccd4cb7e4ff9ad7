/**
 * One batch activity as a pipeline, run in a mocked activity context against a real database: the
 * next page of records is read while the provider works, results are stored while the next records
 * are sent, and never more records are read and not yet stored than the worker allows.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobActivities, type BatchInput, type BatchResult, type JobActivityDeps } from '../activities/job-activities.js';
import { loadCatalog } from '../src/catalog/catalog.js';
import { createJobStore, type JobStore } from '../src/jobs/jobs.js';
import type { Ledger } from '../src/ledger/ledger.js';
import type { EnrichmentProvider } from '../src/providers/provider.js';
import { createSimulatedProvider } from '../src/providers/simulated.js';
import { credits, freshLedger } from './support/database.js';
import { recordFacts, records } from './support/jobs.js';

const IN_FLIGHT = 300;
const FLUSH = 100;

let ledger: Ledger;
let pool: pg.Pool;
let jobs: JobStore;

beforeAll(async () => {
  ({ ledger, pool } = await freshLedger());
  jobs = createJobStore({ pool, ledger });
});

afterAll(async () => {
  expect((await ledger.audit()).problems).toEqual([]);
  await pool.end();
});

async function runningJob(jobId: string, count: number): Promise<void> {
  const now = new Date();
  await ledger.createAccount({ accountId: jobId, planId: 'sales-email-pro', users: [{ userId: 'admin', role: 'admin' }], now });
  await ledger.topUp({ accountId: jobId, userId: 'admin', credits: credits(5 * count), idempotencyKey: 'funding', now });
  await jobs.createJob({ accountId: jobId, jobId, feature: 'lead.email-finder', userId: 'admin', idempotencyKey: jobId, records: records(jobId, count), now });
  await jobs.begin(jobId, now);
}

/** The job store and a provider that watch each other: what was read and not yet stored, and what overlapped the provider's work. */
function watchedPipeline() {
  const simulated = createSimulatedProvider(loadCatalog(), { verifiedRate: 0.6, latencyMs: 2 });
  const seen = { read: 0, stored: 0, mostInFlight: 0, atProvider: 0, readsWhileEnriching: 0, storesWhileEnriching: 0, sent: new Map<string, number>() };
  const provider: EnrichmentProvider = {
    name: 'watched',
    async enrich(request, signal) {
      seen.sent.set(request.recordId, (seen.sent.get(request.recordId) ?? 0) + 1);
      seen.atProvider++;
      try {
        return await simulated.enrich(request, signal);
      } finally {
        seen.atProvider--;
      }
    },
  };
  const store: JobStore = {
    ...jobs,
    pendingRecords: async (...args) => {
      if (seen.atProvider > 0) seen.readsWhileEnriching++;
      const page = await jobs.pendingRecords(...args);
      seen.read += page.length;
      seen.mostInFlight = Math.max(seen.mostInFlight, seen.read - seen.stored);
      return page;
    },
    storeResults: async (...args) => {
      if (seen.atProvider > 0) seen.storesWhileEnriching++;
      const stored = await jobs.storeResults(...args);
      seen.stored += args[1].length;
      return stored;
    },
  };
  const deps: JobActivityDeps = { jobs: store, provider, batchConcurrency: 10, flushSize: FLUSH, flushIntervalMs: 1_000, maxInFlightRecords: IN_FLIGHT, parallelBatches: 4 };
  const activities = createJobActivities(deps);
  const batch = (input: BatchInput, environment = new MockActivityEnvironment()): Promise<BatchResult> =>
    environment.run((given: BatchInput) => activities.processBatch(given), input);
  return { batch, seen };
}

describe('a batch as a pipeline', () => {
  it('reads ahead and stores while it sends, with at most the allowed records in flight', async () => {
    await runningJob('piped', 2_000);
    const { batch, seen } = watchedPipeline();
    const environment = new MockActivityEnvironment();
    let heartbeats = 0;
    environment.on('heartbeat', () => heartbeats++);
    const result = await batch({ jobId: 'piped', limit: 2_000, notBefore: new Date().toISOString(), seqRange: { first: 1, last: 2_000 }, parallelBatches: 1 }, environment);

    expect(result).toMatchObject({ exhausted: true, outOfCredits: false, holdShort: false, cancelled: false, progress: { processed: 2_000 } });
    expect(await recordFacts(pool, 'piped')).toMatchObject({ stored: 2_000, pending: 0, charged: result.progress.verified });
    expect(seen.sent.size).toBe(2_000);
    expect([...seen.sent.values()].every((times) => times === 1)).toBe(true);
    expect(seen.mostInFlight).toBeLessThanOrEqual(IN_FLIGHT);
    expect(seen.readsWhileEnriching).toBeGreaterThan(0);
    expect(seen.storesWhileEnriching).toBeGreaterThan(0);
    expect(heartbeats).toBeGreaterThanOrEqual(2_000 / FLUSH);
  });

  it('enriches only the records of its range, and says when none of them is left', async () => {
    await runningJob('ranged', 1_000);
    const { batch, seen } = watchedPipeline();
    const over = (first: number, last: number) => batch({ jobId: 'ranged', limit: 500, notBefore: new Date().toISOString(), seqRange: { first, last }, parallelBatches: 2 });

    expect(await over(401, 700)).toMatchObject({ exhausted: true, progress: { processed: 300 } });
    const { rows } = await pool.query<{ first: number; last: number; stored: number }>(
      'SELECT min(seq) AS first, max(seq) AS last, count(*)::int AS stored FROM job_records WHERE job_id = $1 AND outcome IS NOT NULL',
      ['ranged'],
    );
    expect(rows[0]).toEqual({ first: 401, last: 700, stored: 300 });
    // Again over a wider range: the stored records are skipped, the rest of it enriched.
    expect(await over(201, 700)).toMatchObject({ exhausted: true, progress: { processed: 200 } });
    expect(seen.sent.size).toBe(500);
    expect([...seen.sent.values()].every((times) => times === 1)).toBe(true);
  });
});
