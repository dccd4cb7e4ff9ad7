/**
 * A client may pick any idempotency key, including every shape the engine uses for its own
 * operations (`trial`, `allowance:…`, `upgrade:…`, `job:<id>:hold`, `<jobId>:<recordId>`). Used
 * first by a client, none of them may replay, refuse or block what the engine then does under it.
 */
import { describe, expect, it } from 'vitest';
import type { JobView } from '../src/client/client.js';
import { engineKeys } from '../src/ledger/keys.js';
import { useApiStack } from './support/api-stack.js';
import { credits } from './support/database.js';
import { records } from './support/jobs.js';
import { eventually } from './support/temporal.js';

const stackOf = useApiStack();
const PRICE = 5; // lead.email-finder

async function chargeWithKey(accountId: string, idempotencyKey: string): Promise<void> {
  await stackOf().client.charge(accountId, { feature: 'ai.variable', userId: 'admin', idempotencyKey });
}

describe('client and engine key spaces', () => {
  it('a client top-up keyed "trial" leaves the account its trial', async () => {
    const { ledger } = stackOf();
    const now = new Date();
    await ledger.createAccount({ accountId: 'trial-key', planId: 'sales-email-pro', users: [{ userId: 'admin', role: 'admin' }], now });
    await stackOf().client.topUp('trial-key', { credits: 10, userId: 'admin', idempotencyKey: engineKeys.trial().idempotencyKey });
    const trial = await ledger.grant({ accountId: 'trial-key', source: 'trial', credits: credits(500), effectiveAt: now, ...engineKeys.trial(), now });
    expect(trial.replayed).toBe(false);
    expect((await stackOf().client.getAccount('trial-key')).balance.available).toBe(510);
  });

  it("an upgrade and its period's new allowance succeed after clients used their keys", async () => {
    const startAt = new Date().toISOString();
    await stackOf().client.createAccount({ accountId: 'upgrade-keys', planId: 'sales-email-pro', seats: 1, startAt, users: [{ userId: 'admin', role: 'admin' }] });
    const { period } = await stackOf().client.getAccount('upgrade-keys');
    if (!period) throw new Error('the account has no period');
    const nextStart = period.end;
    for (const key of [engineKeys.upgrade(startAt, period.start, 1, '*'), engineKeys.allowance(nextStart, 1, 0), engineKeys.allowance(period.start, 0, 0)]) {
      await chargeWithKey('upgrade-keys', key.idempotencyKey);
    }
    const upgraded = await stackOf().client.changePlan('upgrade-keys', { planId: 'sales-email-pro', seats: 3 });
    expect(upgraded).toMatchObject({ effective: 'now', grantedNow: 2000 });
    expect((await stackOf().client.getAccount('upgrade-keys')).balance.available).toBe(1000 - 3 + 2000);
  });

  it('a job holds and charges its records after clients used its hold and record keys', async () => {
    await stackOf().client.createAccount({ accountId: 'job-keys', planId: 'sales-email-pro', seats: 2, users: [{ userId: 'admin', role: 'admin' }] });
    const jobId = 'keys-job';
    // The hold's key, and the key credits_store_job_results gives the charge of a flush starting at record keys-1.
    for (const key of [engineKeys.jobHold(jobId).idempotencyKey, `${jobId}:keys-1`]) await chargeWithKey('job-keys', key);
    await stackOf().client.createJob('job-keys', { jobId, feature: 'lead.email-finder', userId: 'admin', idempotencyKey: jobId, records: records('keys', 50), start: true });
    const done = await eventually(() => stackOf().client.getJob(jobId), (job: JobView) => job.status === 'completed', 'the job to complete', 60_000);
    expect(done.progress.processed).toBe(50);
    expect(done.credits.charged).toBe(done.progress.verified * PRICE);
    expect((await stackOf().client.getAccount('job-keys')).balance.available).toBe(2000 - 2 - done.credits.charged);
  });
});
