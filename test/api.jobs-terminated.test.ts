/**
 * A job whose workflow is terminated from outside (the Temporal Web UI's "Terminate", or
 * `temporal workflow terminate`) cannot finish its own row. The API does it the next time the job
 * is read: the job reads `failed` with the reason, its hold is released and job.failed is emitted,
 * instead of `running` with credits earmarked for ever.
 */
import { describe, expect, it } from 'vitest';
import type { EnrichmentProvider } from '../src/providers/provider.js';
import { jobWorkflowId } from '../workflows/job-messages.js';
import { useApiStack } from './support/api-stack.js';
import { eventTypes, records } from './support/jobs.js';
import { eventually } from './support/temporal.js';

/** Slow enough that the job is still under way when the test terminates it. */
const provider: EnrichmentProvider = {
  name: 'slow',
  enrich: async (_request, signal) => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    signal.throwIfAborted();
    return { outcome: 'deliverable' };
  },
};

const stackOf = useApiStack({ provider, batchConcurrency: 2 });

describe('a job whose workflow is terminated from outside', () => {
  it('reads failed with the reason, its hold released and job.failed emitted', async () => {
    const { client, env, pool } = stackOf();
    await client.createAccount({ accountId: 'terminated', planId: 'sales-email-pro', users: [{ userId: 'admin', role: 'admin' }] });
    await client.createJob('terminated', { jobId: 'terminated-job', feature: 'lead.email-finder', userId: 'admin', idempotencyKey: 'terminated-job', records: records('terminated', 150), start: true });
    await eventually(() => client.getJob('terminated-job'), (job) => job.progress.processed > 0, 'the job to be under way');
    await env.client.workflow.getHandle(jobWorkflowId('terminated-job')).terminate('operator pressed Terminate');

    const job = await client.getJob('terminated-job');
    expect(job.status).toBe('failed');
    expect(job.stopReason).toContain('terminated');
    expect(job.credits.held).toBe(0);
    expect(job.credits.released).toBe(job.credits.reserved - job.credits.charged);
    const account = await client.getAccount('terminated');
    expect(account.balance.held).toBe(0);
    expect(account.balance.available).toBe(1000 - job.credits.charged);
    expect(await eventTypes(pool, 'terminated-job')).toEqual(['job.started', 'job.failed']);
    // Reading it again changes nothing.
    expect(await client.getJob('terminated-job')).toEqual(job);
  });
});
