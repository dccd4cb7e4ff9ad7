import { afterAll, describe, expect, it } from 'vitest';
import { createHttpProvider } from '../src/providers/http.js';
import { startJob } from '../src/temporal/jobs.js';
import { credits } from './support/database.js';
import { ledgerChargedForJob, recordFacts } from './support/jobs.js';
import { startProviderServer } from './support/provider-server.js';
import { useWorkerStack } from './support/temporal.js';

const TASK_QUEUE = 'http-provider';
const RETRY_AFTER_SECONDS = 1;

/** Scripted faults by record id prefix; every record that finally answers is deliverable (chargeable). */
const provider = await startProviderServer((recordId, attempt) => {
  const [kind] = recordId.split('-');
  const deliverable = { status: 200, body: { outcome: 'deliverable', data: { email: `${recordId}@example.com` } } };
  switch (kind) {
    case 'flaky':
      return attempt === 1 ? { status: 500, body: { error: 'boom' } } : deliverable;
    case 'busy':
      return attempt === 1 ? { status: 429, headers: { 'retry-after': String(RETRY_AFTER_SECONDS) } } : deliverable;
    case 'slow':
      return attempt === 1 ? { ...deliverable, delayMs: 2_000 } : deliverable;
    case 'dead':
      return { status: 503 };
    case 'missing':
      return { status: 200, body: { outcome: 'not_found' } };
    default:
      return deliverable;
  }
});

// Registered before the stack's hooks, so it runs after the worker has stopped (after-hooks run in reverse).
afterAll(() => provider.close());

const stack = useWorkerStack({
  server: 'time-skipping',
  taskQueue: TASK_QUEUE,
  worker: {
    provider: createHttpProvider({ url: provider.url, timeoutMs: 300, concurrency: 8, ratePerSecond: 500, maxAttempts: 3, backoffMs: 50, maxRetryAfterMs: 5_000 }),
  },
});

describe('a job against a real HTTP provider with 500s, 429s and timeouts', () => {
  it('charges retried records once and failed records never', async () => {
    const { env, ledger, pool, jobs } = stack();
    const now = new Date(await env.currentTimeMs());
    await ledger.createAccount({ accountId: 'http-job', planId: 'sales-email-pro', users: [{ userId: 'admin', role: 'admin' }, { userId: 'sdr', role: 'member' }], now });
    await ledger.topUp({ accountId: 'http-job', userId: 'admin', credits: credits(1000), idempotencyKey: 'topup', now });
    const kinds = ['ok', 'flaky', 'busy', 'slow', 'dead', 'missing'];
    const jobRecords = kinds.flatMap((kind) => Array.from({ length: 5 }, (_, index) => ({ recordId: `${kind}-${index}` })));
    await jobs.createJob({ accountId: 'http-job', jobId: 'http-job-1', feature: 'lead.email-finder', userId: 'sdr', idempotencyKey: 'k', records: jobRecords, now });
    const job = await startJob(env.client, TASK_QUEUE, { jobId: 'http-job-1', accountId: 'http-job', feature: 'lead.email-finder', batchSize: 50 });
    expect((await job.result()).status).toBe('completed');

    const { rows } = await pool.query<{ record_id: string; outcome: string; charged: number }>(
      'SELECT record_id, outcome, charged FROM job_records WHERE job_id = $1 ORDER BY seq',
      ['http-job-1'],
    );
    const byKind = (kind: string) => rows.filter((row) => row.record_id.startsWith(`${kind}-`));
    for (const kind of ['ok', 'flaky', 'busy', 'slow']) {
      expect(byKind(kind).map((row) => [row.outcome, row.charged])).toEqual(Array.from({ length: 5 }, () => ['deliverable', credits(5)]));
    }
    expect(byKind('dead').map((row) => [row.outcome, row.charged])).toEqual(Array.from({ length: 5 }, () => ['failed', 0]));
    expect(byKind('missing').map((row) => [row.outcome, row.charged])).toEqual(Array.from({ length: 5 }, () => ['not_found', 0]));

    for (let index = 0; index < 5; index++) {
      expect(provider.attemptsOf(`flaky-${index}`)).toBe(2);
      expect(provider.attemptsOf(`busy-${index}`)).toBe(2);
      expect(provider.attemptsOf(`slow-${index}`)).toBe(2);
      expect(provider.attemptsOf(`dead-${index}`)).toBe(3);
      const busyCalls = provider.calls.filter((call) => call.recordId === `busy-${index}`);
      expect((busyCalls[1]?.at ?? 0) - (busyCalls[0]?.at ?? 0)).toBeGreaterThanOrEqual(RETRY_AFTER_SECONDS * 1000 - 50);
    }
    const facts = await recordFacts(pool, 'http-job-1');
    expect(facts).toMatchObject({ stored: 30, charged: 20, chargedCredits: credits(100), pending: 0 });
    expect(await ledgerChargedForJob(pool, 'http-job-1')).toBe(credits(100));
    expect((await ledger.balance({ accountId: 'http-job', now: new Date(await env.currentTimeMs()) })).available).toBe(credits(900));
  });
});
