/**
 * A job's workflow that ends other than by finishing its records (it fails, or is cancelled from
 * the Web UI or the CLI) still ends the job in the table the API reads: `failed` with the reason,
 * or `cancelled`, its hold released and the event in the outbox. Nothing stays `running` with
 * credits earmarked for ever.
 */
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import type { EnrichmentProvider } from '../src/providers/provider.js';
import { startJob } from '../src/temporal/jobs.js';
import { cancelJobUpdate, jobWorkflowId } from '../workflows/job-messages.js';
import { credits } from './support/database.js';
import { eventTypes, ledgerChargedForJob, recordFacts, records } from './support/jobs.js';
import { eventually, useWorkerStack } from './support/temporal.js';

const TASK_QUEUE = 'jobs-ended';

/**
 * Answers every record after a short while (a third of them found), except those of a job named `broken-*`: for those it
 * breaks its contract with a non-retryable failure, which ends the batch activity and the workflow.
 */
const calls = { count: 0 };
const provider: EnrichmentProvider = {
  name: 'contract-breaker',
  enrich: async (request, signal) => {
    calls.count++;
    if (request.recordId.startsWith('broken-')) throw ApplicationFailure.nonRetryable('the provider answered a record it was never sent', 'PROVIDER_CONTRACT');
    await new Promise((resolve) => setTimeout(resolve, 20));
    signal.throwIfAborted();
    // Every third record is found (and charged), so that a charge after the cancel would show.
    return { outcome: Number(request.recordId.split('-').at(-1)) % 3 === 0 ? 'deliverable' : 'not_found' };
  },
};

const stack = useWorkerStack({ server: 'dev', taskQueue: TASK_QUEUE, worker: { provider, batchConcurrency: 4, flushSize: 10 } });

async function jobFor(accountId: string, jobId: string, count: number, batchSize = 20) {
  const { ledger, jobs, env } = stack();
  const now = new Date();
  await ledger.createAccount({ accountId, planId: 'sales-email-pro', users: [{ userId: 'admin', role: 'admin' }], now });
  await ledger.topUp({ accountId, userId: 'admin', credits: credits(10_000), idempotencyKey: `${accountId}:funding`, now });
  await jobs.createJob({ accountId, jobId, feature: 'lead.email-finder', userId: 'admin', idempotencyKey: jobId, records: records(jobId, count), now });
  return startJob(env.client, TASK_QUEUE, { jobId, accountId, feature: 'lead.email-finder', batchSize });
}

async function expectHoldReleased(accountId: string, jobId: string): Promise<void> {
  const job = await stack().jobs.getJob(jobId, new Date());
  expect(job.credits.held).toBe(0);
  expect(job.credits.released).toBe(job.credits.reserved - job.credits.charged);
  const balance = await stack().ledger.balance({ accountId, now: new Date() });
  expect([balance.held, balance.available]).toEqual([0, credits(10_000) - job.credits.charged]);
}

describe('a job whose workflow ends early', () => {
  it('fails: the job is failed with the reason, its hold released, job.failed emitted', async () => {
    const handle = await jobFor('fails', 'broken', 30);
    const failure = await handle.result().then(() => null, (error: unknown) => error);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const job = await stack().jobs.getJob('broken', new Date());
    expect(job.status).toBe('failed');
    expect(job.stopReason).toContain('the provider answered a record it was never sent');
    await expectHoldReleased('fails', 'broken');
    expect(await eventTypes(stack().pool, 'broken')).toEqual(['job.started', 'job.failed']);
  });

  it('is cancelled from outside (Temporal cancel): the job is cancelled and its hold released', async () => {
    const handle = await jobFor('cancelled', 'cancelled-outside', 2_000);
    await eventually(() => stack().jobs.getJob('cancelled-outside', new Date()), (job) => job.progress.processed > 0, 'the job to be under way');
    await stack().env.client.workflow.getHandle(jobWorkflowId('cancelled-outside')).cancel();
    await handle.result().catch(() => undefined);
    const job = await eventually(() => stack().jobs.getJob('cancelled-outside', new Date()), (current) => current.status !== 'running', 'the job to end');
    expect(job.status).toBe('cancelled');
    expect(job.progress.processed).toBeLessThan(2_000);
    await expectHoldReleased('cancelled', 'cancelled-outside');
    expect(await eventTypes(stack().pool, 'cancelled-outside')).toEqual(['job.started', 'job.cancelled']);
  });

  it('cancelled while a batch runs: the batch stops, and nothing enriched after the cancel is stored or charged', async () => {
    const handle = await jobFor('stopped', 'stopped-mid-batch', 2_000, 2_000);
    await eventually(() => recordFacts(stack().pool, 'stopped-mid-batch'), (facts) => facts.stored >= 20, 'the batch to be under way');
    await handle.executeUpdate(cancelJobUpdate);
    const callsAtCancel = calls.count;
    const atCancel = await recordFacts(stack().pool, 'stopped-mid-batch');
    const chargedAtCancel = await ledgerChargedForJob(stack().pool, 'stopped-mid-batch');
    expect(chargedAtCancel).toBeGreaterThan(0);
    await handle.result();
    expect((await stack().jobs.getJob('stopped-mid-batch', new Date())).status).toBe('cancelled');
    expect(await recordFacts(stack().pool, 'stopped-mid-batch')).toEqual(atCancel);
    expect(await ledgerChargedForJob(stack().pool, 'stopped-mid-batch')).toBe(chargedAtCancel);
    // The calls already under way, and at most a flush's worth more: not the rest of a 2,000-record batch.
    expect(calls.count - callsAtCancel).toBeLessThan(50);
    await expectHoldReleased('stopped', 'stopped-mid-batch');
  });
});
