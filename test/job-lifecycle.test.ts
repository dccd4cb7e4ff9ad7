/**
 * A bulk job's life on the time-skipping server, scenario by scenario: pause and resume, cancel,
 * continue-as-new. Each scenario's histories are what `npm run test:record-histories` writes to
 * test/histories, so the replay test proves later job workflow code still replays them (a job
 * started on one release must finish on the next).
 */
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../src/catalog/catalog.js';
import { createSimulatedProvider } from '../src/providers/simulated.js';
import { startJob } from '../src/temporal/jobs.js';
import { cancelJobUpdate, jobWorkflowId, resumeJobUpdate } from '../workflows/job-messages.js';
import { credits } from './support/database.js';
import { recordHistories } from './support/histories.js';
import { recordFacts, records } from './support/jobs.js';
import { eventually, useWorkerStack } from './support/temporal.js';

const TASK_QUEUE = 'job-lifecycle';
const stack = useWorkerStack({
  server: 'time-skipping',
  taskQueue: TASK_QUEUE,
  worker: { provider: createSimulatedProvider(loadCatalog(), { verifiedRate: 0.6, latencyMs: 1 }), flushSize: 5 },
});

const serverNow = async () => new Date(await stack().env.currentTimeMs());

async function job(jobId: string, count: number, options: { funding: number; batchSize: number; batchesPerRun?: number }) {
  const { ledger, jobs, env } = stack();
  const now = await serverNow();
  const accountId = `${jobId}-account`;
  await ledger.createAccount({ accountId, planId: 'sales-email-pro', users: [{ userId: 'admin', role: 'admin' }], now });
  await ledger.topUp({ accountId, userId: 'admin', credits: credits(options.funding), idempotencyKey: 'funding', now });
  await jobs.createJob({ accountId, jobId, feature: 'lead.email-finder', userId: 'admin', idempotencyKey: jobId, records: records(jobId, count), now });
  const shape = { batchSize: options.batchSize, ...(options.batchesPerRun === undefined ? {} : { batchesPerRun: options.batchesPerRun }) };
  return { accountId, handle: await startJob(env.client, TASK_QUEUE, { jobId, accountId, feature: 'lead.email-finder', ...shape }) };
}

const status = async (jobId: string) => (await stack().jobs.getJob(jobId, await serverNow())).status;

describe('a bulk job, scenario by scenario', () => {
  it('pauses out of credits, resumes after a top-up, completes', async () => {
    const { accountId, handle } = await job('pause-resume', 30, { funding: 10, batchSize: 10 });
    await eventually(() => status('pause-resume'), (current) => current === 'paused', 'the job to pause');
    await stack().ledger.topUp({ accountId, userId: 'admin', credits: credits(1000), idempotencyKey: 'rescue', now: await serverNow() });
    expect((await handle.executeUpdate(resumeJobUpdate)).status).toBe('running');
    expect((await handle.result()).status).toBe('completed');
    expect((await recordFacts(stack().pool, 'pause-resume')).pending).toBe(0);
    await recordHistories(stack().env.client, jobWorkflowId('pause-resume'), 'job-pause-resume');
  });

  it('is cancelled between batches', async () => {
    const { handle } = await job('cancelled', 400, { funding: 5000, batchSize: 20 });
    await eventually(() => recordFacts(stack().pool, 'cancelled'), (facts) => facts.stored > 0, 'some progress');
    await handle.executeUpdate(cancelJobUpdate);
    expect((await handle.result()).status).toBe('cancelled');
    await recordHistories(stack().env.client, jobWorkflowId('cancelled'), 'job-cancel');
  });

  it('continues as new every few batches and completes', async () => {
    const { handle } = await job('long', 60, { funding: 5000, batchSize: 10, batchesPerRun: 2 });
    expect((await handle.result()).status).toBe('completed');
    const description = await stack().env.client.workflow.getHandle(jobWorkflowId('long')).describe();
    expect(description.runId).not.toBe(description.raw.workflowExecutionInfo?.firstRunId);
    await recordHistories(stack().env.client, jobWorkflowId('long'), 'job-continue-as-new');
  });
});
