import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../src/catalog/catalog.js';
import { createSimulatedProvider } from '../src/providers/simulated.js';
import { startAccount } from '../src/temporal/accounts.js';
import { startJob } from '../src/temporal/jobs.js';
import { cancelJobUpdate, jobStateQuery, resumeJobUpdate } from '../workflows/job-messages.js';
import { credits } from './support/database.js';
import { eventTypes, ledgerChargedForJob, recordFacts, records } from './support/jobs.js';
import { eventually, useWorkerStack } from './support/temporal.js';

const TASK_QUEUE = 'jobs';
const PRICE = 5; // lead.email-finder, chargeable when deliverable or risky

const stack = useWorkerStack({
  server: 'time-skipping',
  taskQueue: TASK_QUEUE,
  worker: { provider: createSimulatedProvider(loadCatalog(), { verifiedRate: 0.6, latencyMs: 1 }) },
});

const serverNow = async () => new Date(await stack().env.currentTimeMs());

async function fundedAccount(accountId: string, purchased: number): Promise<void> {
  const { ledger } = stack();
  const now = await serverNow();
  await ledger.createAccount({ accountId, planId: 'sales-email-pro', users: [{ userId: 'admin', role: 'admin' }, { userId: 'sdr', role: 'member' }], now });
  if (purchased > 0) await ledger.topUp({ accountId, userId: 'admin', credits: credits(purchased), idempotencyKey: `${accountId}:initial`, now });
}

async function newJob(accountId: string, jobId: string, count: number, maxCredits?: number) {
  const { env, jobs } = stack();
  await jobs.createJob({
    accountId,
    jobId,
    feature: 'lead.email-finder',
    userId: 'sdr',
    idempotencyKey: jobId,
    ...(maxCredits === undefined ? {} : { maxCredits: credits(maxCredits) }),
    records: records(jobId, count),
    now: await serverNow(),
  });
  return startJob(env.client, TASK_QUEUE, { jobId, accountId, feature: 'lead.email-finder', batchSize: 40 });
}

async function jobStatus(jobId: string): Promise<string> {
  return (await stack().jobs.getJob(jobId, await serverNow())).status;
}

describe('bulk enrichment jobs', () => {
  it('complete when the balance covers them: charged = verified × price, the rest released', async () => {
    const { ledger, pool, jobs } = stack();
    await fundedAccount('job-rich', 1000);
    const handleOfJob = await newJob('job-rich', 'job-complete', 150);
    const final = await handleOfJob.result();
    const view = await jobs.getJob('job-complete', await serverNow());
    const facts = await recordFacts(pool, 'job-complete');
    expect(final.status).toBe('completed');
    expect(view.status).toBe('completed');
    expect(view.progress.processed).toBe(150);
    expect(view.progress.verified).toBe(facts.charged);
    expect(view.progress.verified + view.progress.notFound + view.progress.failed).toBe(150);
    expect(view.credits.charged).toBe(credits(PRICE * view.progress.verified));
    expect(view.credits.reserved).toBe(credits(PRICE * 150));
    expect(view.credits.released).toBe(view.credits.reserved - view.credits.charged);
    expect(await ledgerChargedForJob(pool, 'job-complete')).toBe(view.credits.charged);
    expect(final.counters).toMatchObject({ processed: 150, verified: view.progress.verified, charged: view.credits.charged });
    expect((await ledger.balance({ accountId: 'job-rich', now: await serverNow() })).available).toBe(credits(1000) - view.credits.charged);
    expect(await eventTypes(pool, 'job-complete')).toEqual(['job.started', 'job.completed']);
    expect((await ledger.audit({ accountId: 'job-rich' })).problems).toEqual([]);
  });

  it('pause when credits run out, stay paused through a top-up and a new period, and finish after resume', async () => {
    const { env, ledger, pool, jobs } = stack();
    const accountId = 'job-poor';
    const startAt = await serverNow();
    // demo-fast: 100 credits every 10 seconds, which expire at the end of each period.
    await startAccount(env.client, TASK_QUEUE, { accountId, planId: 'demo-fast', seats: 1, timeZone: 'UTC', startAt: startAt.toISOString(), trial: false });
    await eventually(() => ledger.balance({ accountId, now: startAt }), (balance) => balance.available === credits(100), 'the first allowance');
    await ledger.setUser({ accountId, userId: 'admin', role: 'admin', creditsAllowed: true, now: startAt });
    await ledger.setUser({ accountId, userId: 'sdr', role: 'member', creditsAllowed: true, now: startAt });
    await jobs.createJob({ accountId, jobId: 'job-pause', feature: 'lead.email-finder', userId: 'sdr', idempotencyKey: 'job-pause', records: records('job-pause', 120), now: startAt });
    const job = await startJob(env.client, TASK_QUEUE, { jobId: 'job-pause', accountId, feature: 'lead.email-finder', batchSize: 40 });

    await eventually(() => jobs.getJob('job-pause', startAt), (view) => view.status === 'paused', 'the job paused');
    const paused = await jobs.getJob('job-pause', startAt);
    expect(paused).toMatchObject({ pauseReason: 'OUT_OF_CREDITS', credits: { charged: credits(100), held: 0 } });
    expect(paused.progress.verified).toBe(20);
    const pending = paused.progress.total - paused.progress.processed;
    expect(pending).toBeGreaterThan(0);

    // A top-up does not restart it.
    await ledger.topUp({ accountId, userId: 'admin', credits: credits(30), idempotencyKey: 'small-topup', now: await serverNow() });
    // Nor does a new period: skip past the boundary and wait for the new allowance.
    await env.sleep(10_500);
    await eventually(async () => (await ledger.balance({ accountId, now: await serverNow() })).bySource.allowance, (allowance) => allowance === credits(100), 'the next allowance');
    expect(await jobStatus('job-pause')).toBe('paused');
    expect((await job.query(jobStateQuery)).status).toBe('paused');
    expect((await recordFacts(pool, 'job-pause')).pending).toBe(pending);

    // An explicit resume re-reserves (allowance + top-up) and continues; when that runs out it pauses again.
    const resumed = await job.executeUpdate(resumeJobUpdate);
    expect(resumed.status).toBe('running');
    expect(resumed.reserved).toBe(credits(130));
    await eventually(() => jobs.getJob('job-pause', startAt), (view) => view.status === 'paused' || view.status === 'completed', 'the job stopped again');

    await ledger.topUp({ accountId, userId: 'admin', credits: credits(1000), idempotencyKey: 'big-topup', now: await serverNow() });
    if ((await jobStatus('job-pause')) === 'paused') await job.executeUpdate(resumeJobUpdate);
    const final = await job.result();
    expect(final.status).toBe('completed');
    const view = await jobs.getJob('job-pause', await serverNow());
    const facts = await recordFacts(pool, 'job-pause');
    expect(facts).toMatchObject({ stored: 120, pending: 0, charged: view.progress.verified });
    expect(view.credits.charged).toBe(credits(PRICE * view.progress.verified));
    expect(await ledgerChargedForJob(pool, 'job-pause')).toBe(view.credits.charged);
    expect(view.credits.held).toBe(0);
    const events = await eventTypes(pool, 'job-pause');
    expect(events[0]).toBe('job.started');
    expect(events.at(-1)).toBe('job.completed');
    expect(events.filter((type) => type === 'job.paused').length).toBe(events.filter((type) => type === 'job.resumed').length);
    await expect(job.executeUpdate(resumeJobUpdate)).rejects.toThrow();
    expect((await ledger.audit({ accountId })).problems).toEqual([]);
  });

  it('refuse to resume while credits are still missing', async () => {
    await fundedAccount('job-broke', 10);
    const job = await newJob('job-broke', 'job-still-broke', 50);
    await eventually(() => jobStatus('job-still-broke'), (status) => status === 'paused', 'the job paused');
    const error = await job.executeUpdate(resumeJobUpdate).then(() => undefined, (caught: unknown) => caught as Error & { cause?: Error & { type?: string } });
    expect(error?.cause?.type).toBe('INSUFFICIENT_CREDITS');
    expect(error?.cause?.message).toContain('credits are still missing');
    expect(await jobStatus('job-still-broke')).toBe('paused');
    await job.executeUpdate(cancelJobUpdate);
    expect((await job.result()).status).toBe('cancelled');
  });

  it('release the hold when cancelled', async () => {
    const { ledger, pool, jobs } = stack();
    await fundedAccount('job-cancel', 5000);
    const job = await newJob('job-cancel', 'job-cancelled', 800);
    await eventually(async () => (await recordFacts(pool, 'job-cancelled')).stored, (stored) => stored > 0, 'some progress');
    await job.executeUpdate(cancelJobUpdate);
    const final = await job.result();
    expect(final.status).toBe('cancelled');
    const view = await jobs.getJob('job-cancelled', await serverNow());
    expect(view.status).toBe('cancelled');
    expect(view.credits.held).toBe(0);
    expect(view.credits.released).toBe(view.credits.reserved - view.credits.charged);
    expect((await ledger.balance({ accountId: 'job-cancel', now: await serverNow() }))).toMatchObject({ available: credits(5000) - view.credits.charged, held: 0 });
    expect(await eventTypes(pool, 'job-cancelled')).toEqual(['job.started', 'job.cancelled']);
  });

  it('respect the credit cap', async () => {
    const { jobs } = stack();
    await fundedAccount('job-capped', 5000);
    const job = await newJob('job-capped', 'job-cap', 200, 50);
    const final = await job.result();
    const view = await jobs.getJob('job-cap', await serverNow());
    expect(final).toMatchObject({ status: 'completed', stopReason: 'CREDIT_CAP_REACHED' });
    expect(view.credits.reserved).toBeLessThanOrEqual(credits(50));
    expect(view.credits.charged).toBe(credits(50));
    expect(view.progress.verified).toBe(10);
    expect(view.progress.processed).toBeLessThan(200);
  });
});
