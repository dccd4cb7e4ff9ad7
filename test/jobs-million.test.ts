import { describe, expect, it } from 'vitest';
import { JOB_LIMITS } from '../src/contract/limits.js';
import { startJob } from '../src/temporal/jobs.js';
import { jobWorkflowId } from '../workflows/job-messages.js';
import { credits } from './support/database.js';
import { ledgerChargedForJob, recordFacts } from './support/jobs.js';
import { useWorkerStack } from './support/temporal.js';

const TASK_QUEUE = 'million';
const RECORDS = 1_000_000;
const BATCH = 5_000;
const BATCHES_PER_RUN = 50;
/** Far below Temporal's 50,000-event limit, whatever the record count. */
const MAX_EVENTS_PER_RUN = 2_000;

// The test audits its one account itself (audit: false keeps the file as it was: no whole-ledger audit after it).
const stack = useWorkerStack({ server: 'time-skipping', taskQueue: TASK_QUEUE, worker: { batchConcurrency: 200, flushSize: 2_500 }, audit: false });

describe('a job of a million records', () => {
  it('completes with every verified record charged once and a history bounded by continue-as-new', async () => {
    const { env, ledger, pool, jobs } = stack();
    const now = new Date(await env.currentTimeMs());
    await ledger.createAccount({ accountId: 'million', planId: 'sales-email-pro', users: [{ userId: 'admin', role: 'admin' }, { userId: 'sdr', role: 'member' }], now });
    await ledger.topUp({ accountId: 'million', userId: 'admin', credits: credits(5 * RECORDS), idempotencyKey: 'topup', now });
    await jobs.createJob({ accountId: 'million', jobId: 'million-1', feature: 'lead.email-finder', userId: 'sdr', idempotencyKey: 'k', now });
    // Streamed in as chunks, as the API does: records never pass through a workflow.
    for (let start = 0; start < RECORDS; start += JOB_LIMITS.maxRecordsPerAppend) {
      const chunk = Array.from({ length: JOB_LIMITS.maxRecordsPerAppend }, (_, index) => ({ recordId: `lead-${start + index}` }));
      await jobs.appendRecords({ jobId: 'million-1', records: chunk, now });
    }
    const job = await startJob(env.client, TASK_QUEUE, { jobId: 'million-1', accountId: 'million', feature: 'lead.email-finder', batchSize: BATCH, batchesPerRun: BATCHES_PER_RUN });
    const final = await job.result();
    expect(final.status).toBe('completed');

    const facts = await recordFacts(pool, 'million-1');
    expect(facts.stored).toBe(RECORDS);
    expect(facts.pending).toBe(0);
    expect(final.counters.verified).toBe(facts.charged);
    expect(facts.chargedCredits).toBe(credits(5 * facts.charged));
    expect(await ledgerChargedForJob(pool, 'million-1')).toBe(facts.chargedCredits);

    // Follow the chain of runs and measure each one's history.
    const description = await job.describe();
    let runId: string | null | undefined = description.raw.workflowExecutionInfo?.firstRunId;
    const eventCounts: number[] = [];
    while (runId) {
      const history = await env.client.workflow.getHandle(jobWorkflowId('million-1'), runId).fetchHistory();
      eventCounts.push(history.events?.length ?? 0);
      runId = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
    }
    expect(eventCounts.length).toBeGreaterThanOrEqual(Math.floor(RECORDS / BATCH / BATCHES_PER_RUN));
    expect(Math.max(...eventCounts)).toBeLessThan(MAX_EVENTS_PER_RUN);
    expect((await ledger.audit({ accountId: 'million' })).problems).toEqual([]);
  }, 900_000);
});
