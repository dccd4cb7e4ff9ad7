/**
 * A job's batches over disjoint ranges of its records, several at once: every record is sent and
 * charged once, and when the hold cannot pay for all they may send, none of them sends a record the
 * hold cannot pay for.
 */
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../src/catalog/catalog.js';
import type { EnrichmentProvider } from '../src/providers/provider.js';
import { createSimulatedProvider } from '../src/providers/simulated.js';
import { startJob } from '../src/temporal/jobs.js';
import { cancelJobUpdate } from '../workflows/job-messages.js';
import { credits } from './support/database.js';
import { ledgerChargedForJob, mostBatchesAtOnce, recordFacts, records } from './support/jobs.js';
import { eventually, useWorkerStack } from './support/temporal.js';

const TASK_QUEUE = 'parallel-batches';
const PARALLEL = 3;
const CHARGEABLE = new Set(loadCatalog().feature('lead.email-finder')?.chargeableOutcomes ?? []);

/** Every call, by record, and how many chargeable outcomes each job's records came back with. */
const sent = new Map<string, number>();
const chargeableSent = new Map<string, number>();
const simulated = createSimulatedProvider(loadCatalog(), { verifiedRate: 0.6, latencyMs: 2 });
const recording: EnrichmentProvider = {
  name: 'recording',
  async enrich(request, signal) {
    sent.set(request.recordId, (sent.get(request.recordId) ?? 0) + 1);
    const result = await simulated.enrich(request, signal);
    const jobId = request.recordId.slice(0, request.recordId.lastIndexOf('-'));
    if (CHARGEABLE.has(result.outcome)) chargeableSent.set(jobId, (chargeableSent.get(jobId) ?? 0) + 1);
    return result;
  },
};

const stack = useWorkerStack({ server: 'time-skipping', taskQueue: TASK_QUEUE, worker: { provider: recording, parallelBatches: PARALLEL, flushSize: 20 } });

async function job(jobId: string, count: number, funding: number, batchSize: number) {
  const { ledger, jobs, env } = stack();
  const now = new Date(await env.currentTimeMs());
  await ledger.createAccount({ accountId: jobId, planId: 'sales-email-pro', users: [{ userId: 'admin', role: 'admin' }], now });
  await ledger.topUp({ accountId: jobId, userId: 'admin', credits: credits(funding), idempotencyKey: 'funding', now });
  await jobs.createJob({ accountId: jobId, jobId, feature: 'lead.email-finder', userId: 'admin', idempotencyKey: jobId, records: records(jobId, count), now });
  return startJob(env.client, TASK_QUEUE, { jobId, accountId: jobId, feature: 'lead.email-finder', batchSize });
}

describe('batches of one job at once', () => {
  it('run over disjoint ranges: each record sent once, charged once', async () => {
    const { env, pool, ledger } = stack();
    const handle = await job('wide', 600, 5_000, 50);
    const final = await handle.result();
    expect(final.status).toBe('completed');
    expect(await mostBatchesAtOnce(env.client, 'wide')).toBe(PARALLEL);

    const facts = await recordFacts(pool, 'wide');
    expect(facts).toMatchObject({ stored: 600, pending: 0, charged: final.counters.verified, chargedCredits: credits(5 * final.counters.verified) });
    expect(await ledgerChargedForJob(pool, 'wide')).toBe(facts.chargedCredits);
    const calls = [...sent].filter(([recordId]) => recordId.startsWith('wide-'));
    expect(calls).toHaveLength(600);
    expect(calls.every(([, times]) => times === 1)).toBe(true);
    expect((await ledger.audit({ accountId: 'wide' })).problems).toEqual([]);
  });

  it('on a hold that cannot pay for all they may send, go one at a time and send no record it cannot pay for', async () => {
    const { env, pool, jobs } = stack();
    // 100 credits: 20 records at 5, while 3 batches of 20 may send 60.
    const handle = await job('short', 200, 100, 20);
    await eventually(async () => (await jobs.getJob('short', new Date(await env.currentTimeMs()))).status, (status) => status === 'paused', 'the job paused');
    expect((await recordFacts(pool, 'short')).charged).toBe(20);
    expect(chargeableSent.get('short')).toBe(20);
    await handle.executeUpdate(cancelJobUpdate);
    expect((await handle.result()).status).toBe('cancelled');
  });
});
