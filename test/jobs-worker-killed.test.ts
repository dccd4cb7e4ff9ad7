import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobStore, type JobStore } from '../src/jobs/jobs.js';
import type { Ledger } from '../src/ledger/ledger.js';
import { startJob } from '../src/temporal/jobs.js';
import { credits, freshLedger } from './support/database.js';
import { ledgerChargedForJob, mostBatchesAtOnce, recordFacts } from './support/jobs.js';
import { startProviderServer } from './support/provider-server.js';
import { devServerEnvironment, eventually } from './support/temporal.js';

const TASK_QUEUE = 'killed-workers';
const RECORDS = 400;
const KILLS = 3;
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

let env: TestWorkflowEnvironment;
let ledger: Ledger;
let pool: pg.Pool;
let databaseUrl: string;
let jobs: JobStore;
const violations: string[] = [];
let workerProcess: ChildProcess | undefined;

/** Half the leads are deliverable (chargeable), decided by the record id. */
const deliverable = (recordId: string) => createHash('sha256').update(recordId).digest().readUInt8(0) % 2 === 0;

// The provider refuses to be asked again about a record whose result is already stored.
const provider = await startProviderServer(
  (recordId) => ({ status: 200, delayMs: 40, body: { outcome: deliverable(recordId) ? 'deliverable' : 'not_found' } }),
  async (recordId) => {
    const { rows } = await pool.query<{ outcome: string | null }>('SELECT outcome FROM job_records WHERE job_id = $1 AND record_id = $2', ['killed-job', recordId]);
    if (rows[0]?.outcome) violations.push(`${recordId} was sent again after its result (${rows[0].outcome}) was stored`);
  },
);

function startWorkerProcess(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_TASK_QUEUE: TASK_QUEUE,
      ENRICHMENT_PROVIDER: 'http',
      ENRICHMENT_PROVIDER_URL: provider.url,
      ENRICHMENT_CONCURRENCY: '5',
      ENRICHMENT_TIMEOUT_MS: '5000',
      // All four batches of the job at once, each a pipeline: kills land in several of them.
      JOB_PARALLEL_BATCHES: '4',
      JOB_MAX_IN_FLIGHT_RECORDS: '20',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  workerProcess = child;
  return child;
}

beforeAll(async () => {
  ({ ledger, pool, url: databaseUrl } = await freshLedger());
  jobs = createJobStore({ pool, ledger });
  env = await devServerEnvironment();
});

afterAll(async () => {
  workerProcess?.kill('SIGKILL');
  await env.teardown();
  await provider.close();
  await pool.end();
});

describe('a job whose worker process is killed mid-batch, again and again', () => {
  it('completes, charging every verified record exactly once and never re-sending a stored record', async () => {
    const now = new Date();
    await ledger.createAccount({ accountId: 'killed', planId: 'sales-email-pro', users: [{ userId: 'admin', role: 'admin' }, { userId: 'sdr', role: 'member' }], now });
    await ledger.topUp({ accountId: 'killed', userId: 'admin', credits: credits(5 * RECORDS), idempotencyKey: 'topup', now });
    const records = Array.from({ length: RECORDS }, (_, index) => ({ recordId: `lead-${index}` }));
    await jobs.createJob({ accountId: 'killed', jobId: 'killed-job', feature: 'lead.email-finder', userId: 'sdr', idempotencyKey: 'k', records, now });

    startWorkerProcess();
    const job = await startJob(env.client, TASK_QUEUE, { jobId: 'killed-job', accountId: 'killed', feature: 'lead.email-finder', batchSize: 100 });
    for (let kill = 1; kill <= KILLS; kill++) {
      const callsBefore = provider.calls.length;
      // Kill while the provider is mid-way through a batch: some results stored, some in flight.
      await eventually(async () => Promise.resolve(provider.calls.length - callsBefore), (calls) => calls >= 40, `provider calls before kill ${kill}`, 60_000);
      const stored = (await recordFacts(pool, 'killed-job')).stored;
      expect(stored, 'the job must not be finished before the kill').toBeLessThan(RECORDS);
      workerProcess?.kill('SIGKILL');
      startWorkerProcess();
    }
    const final = await job.result();
    expect(final.status).toBe('completed');

    const facts = await recordFacts(pool, 'killed-job');
    const expectedVerified = records.filter((record) => deliverable(record.recordId)).length;
    expect(facts).toMatchObject({ stored: RECORDS, pending: 0, charged: expectedVerified, chargedCredits: credits(5 * expectedVerified) });
    expect(await ledgerChargedForJob(pool, 'killed-job')).toBe(credits(5 * expectedVerified));
    expect(violations).toEqual([]);
    expect(await mostBatchesAtOnce(env.client, 'killed-job')).toBeGreaterThan(1);
    expect(provider.calls.length).toBeGreaterThanOrEqual(RECORDS);
    expect((await ledger.balance({ accountId: 'killed', now: new Date() })).available).toBe(credits(5 * RECORDS) - credits(5 * expectedVerified));
    expect((await ledger.audit({ accountId: 'killed' })).problems).toEqual([]);
  }, 300_000);
});
