import { describe, expect, it } from 'vitest';
import type { AccountView } from '../src/client/client.js';
import { refusal } from './support/http.js';
import { useApiStack } from './support/api-stack.js';
import { records } from './support/jobs.js';
import { eventually } from './support/temporal.js';

/** The five seed articles, each played end to end through the HTTP API as the product would. */

const stackOf = useApiStack();



const periodDays = (account: AccountView) => (Date.parse(account.period?.end ?? '') - Date.parse(account.period?.start ?? '')) / 86_400_000;

describe('seed scenarios over HTTP', () => {
  it('marketing platform: included monthly credits, 1 or 2 per email, priced promotions, and no credits on a basic plan', async () => {
    const premium = await stackOf().client.createAccount({ accountId: 'brand', planId: 'bim-premium-regional', users: [{ userId: 'marketer', role: 'admin' }] });
    expect(premium.balance.available).toBe(250);
    expect(premium.period?.start).toMatch(/-01T00:00:00\.000Z$/); // renews on the 1st
    await stackOf().client.charge('brand', { feature: 'email.captured', quantity: 40, userId: 'marketer', idempotencyKey: 'campaign-1' });
    await stackOf().client.charge('brand', { feature: 'email.undiscovered', quantity: 30, userId: 'marketer', idempotencyKey: 'campaign-2' });
    const promoted = await stackOf().client.charge('brand', { feature: 'promotion.product-week', variant: 'regional', quantity: 2, userId: 'marketer', idempotencyKey: 'promo-1' });
    expect(promoted.credits).toBe(60);
    expect(promoted.balance.available).toBe(250 - 40 - 60 - 60);
    const global = await refusal(stackOf().client.charge('brand', { feature: 'promotion.product-week', variant: 'global', quantity: 2, userId: 'marketer', idempotencyKey: 'promo-2' }));
    expect([global.status, global.code, global.details]).toEqual([402, 'INSUFFICIENT_CREDITS', { feature: 'promotion.product-week', needed: 160, available: 90 }]);

    const basic = await stackOf().client.createAccount({ accountId: 'small-brand', planId: 'bim-basic', users: [{ userId: 'owner', role: 'admin' }] });
    expect(basic.balance.available).toBe(0);
    const gated = await refusal(stackOf().client.charge('small-brand', { feature: 'email.captured', userId: 'owner', idempotencyKey: 'e-1' }));
    expect([gated.status, gated.code]).toEqual([403, 'FEATURE_NOT_IN_PLAN']);
    // Bought credits pay for what the plan includes, here a promotion.
    await stackOf().client.topUp('small-brand', { credits: 100, userId: 'owner', idempotencyKey: 'buy-100' });
    const bought = await stackOf().client.charge('small-brand', { feature: 'promotion.product-week', variant: 'europe', userId: 'owner', idempotencyKey: 'promo-eu' });
    expect([bought.credits, bought.balance.available]).toEqual([45, 55]);
  });

  it('data platform: a shared licence balance, and exporting or pushing the same record again within 30 days is free', async () => {
    const licence = await stackOf().client.createAccount({
      accountId: 'agency',
      planId: 'data-license',
      users: [{ userId: 'ana', role: 'admin' }, { userId: 'ben', role: 'member' }],
    });
    expect(licence.balance.available).toBe(1000);
    expect(periodDays(licence)).toBeGreaterThanOrEqual(365); // a yearly licence
    const first = await stackOf().client.charge('agency', { feature: 'contact.export', subjectIds: ['c1', 'c2', 'c3'], userId: 'ana', idempotencyKey: 'export-1' });
    expect([first.credits, first.billableQuantity, first.freeQuantity]).toEqual([3, 3, 0]);
    const estimate = await stackOf().client.estimate('agency', { feature: 'contact.push', subjectIds: ['c1', 'c4', 'c4'] });
    expect([estimate.maxCredits, estimate.billableQuantity, estimate.dedupedQuantity]).toEqual([1, 1, 2]);
    const push = await stackOf().client.charge('agency', { feature: 'contact.push', subjectIds: ['c1', 'c4'], userId: 'ben', idempotencyKey: 'push-1' });
    expect([push.credits, push.billableQuantity, push.freeQuantity]).toEqual([1, 1, 1]);
    const now = Date.now();
    const byUser = await stackOf().client.usage('agency', { from: new Date(now - 3_600_000).toISOString(), to: new Date(now + 3_600_000).toISOString(), groupBy: 'user' });
    expect(byUser.rows.map((row) => [row.key, row.credits])).toEqual([
      ['ana', 3],
      ['ben', 1],
    ]);
    expect((await stackOf().client.getAccount('agency')).balance.available).toBe(996);
  });

  it('e-commerce: AI features only on Pro, half a credit per image and 0.02 per field, added up exactly', async () => {
    const standard = await stackOf().client.createAccount({ accountId: 'shop-std', planId: 'ecom-standard', users: [{ userId: 'owner', role: 'admin' }] });
    expect(standard.balance.available).toBe(0);
    expect((await refusal(stackOf().client.charge('shop-std', { feature: 'ai.custom-image', userId: 'owner', idempotencyKey: 'img' }))).code).toBe('FEATURE_NOT_IN_PLAN');

    await stackOf().client.createAccount({ accountId: 'shop-pro', planId: 'ecom-pro', users: [{ userId: 'owner', role: 'admin' }] });
    const images = await stackOf().client.charge('shop-pro', { feature: 'ai.custom-image', quantity: 3, userId: 'owner', idempotencyKey: 'img-3' });
    expect(images.credits).toBe(1.5);
    for (let batch = 1; batch <= 7; batch++) {
      await stackOf().client.charge('shop-pro', { feature: 'ai.feed-field', quantity: 50, userId: 'owner', idempotencyKey: `fields-${batch}` });
    }
    const one = await stackOf().client.charge('shop-pro', { feature: 'ai.feed-field', quantity: 1, userId: 'owner', idempotencyKey: 'fields-one' });
    expect(one.credits).toBe(0.02);
    // 2500 − 1.5 − 7 × 1 − 0.02, with no float drift.
    expect((await stackOf().client.getAccount('shop-pro')).balance.available).toBe(2491.48);
  });

  it('email app: 30-day credit periods from the purchase, one credit per notification, and a hard stop', async () => {
    const app = await stackOf().client.createAccount({ accountId: 'newsletter', planId: 'notify-5k', timeZone: 'Europe/Madrid', users: [{ userId: 'owner', role: 'admin' }] });
    expect(periodDays(app)).toBe(30);
    expect(app.period?.daysLeft).toBe(30);
    const sent = await stackOf().client.charge('newsletter', { feature: 'notification.email', quantity: 9_999, userId: 'owner', idempotencyKey: 'blast-1' });
    expect(sent.balance.available).toBe(1);
    const stop = await refusal(stackOf().client.charge('newsletter', { feature: 'notification.email', quantity: 2, userId: 'owner', idempotencyKey: 'blast-2' }));
    expect([stop.status, stop.code, stop.details]).toEqual([402, 'INSUFFICIENT_CREDITS', { feature: 'notification.email', needed: 2, available: 1 }]);
    expect((await stackOf().client.getAccount('newsletter')).balance.available).toBe(1);
  });

  it('sales engagement: per-seat credits, a one-time trial, calling credits only for calls, per-user switch, admin-only purchases, and a job that pauses until resumed', async () => {
    const team = await stackOf().client.createAccount({
      accountId: 'sales-team',
      planId: 'sales-multichannel-expert',
      seats: 2,
      trial: true,
      users: [{ userId: 'lead', role: 'admin' }, { userId: 'rep', role: 'member' }],
    });
    // 1500 per seat × 2, 400 calling credits, 500 trial.
    expect(team.balance.available).toBe(3900);
    const calling = team.grants.find((grant) => grant.features?.includes('call.minute'));
    expect(calling).toMatchObject({ source: 'allowance', amount: 400, features: ['call.minute'] });
    const call = await stackOf().client.charge('sales-team', { feature: 'call.minute', quantity: 10, userId: 'rep', idempotencyKey: 'call-1' });
    expect(call.credits).toBe(40);
    expect((await stackOf().client.getAccount('sales-team')).grants.find((grant) => grant.id === calling?.id)?.remaining).toBe(360);

    await stackOf().client.setUser('sales-team', 'rep', { role: 'member', creditsAllowed: false });
    expect((await refusal(stackOf().client.charge('sales-team', { feature: 'ai.variable', userId: 'rep', idempotencyKey: 'ai-1' }))).code).toBe('CREDITS_DISALLOWED');
    expect((await refusal(stackOf().client.topUp('sales-team', { credits: 100, userId: 'rep', idempotencyKey: 'rep-buys' }))).code).toBe('NOT_ADMIN');

    // Burn the general credits, then run a bulk email search bigger than what is left.
    const general = (await stackOf().client.getAccount('sales-team')).balance.available - 360;
    await stackOf().client.charge('sales-team', { feature: 'ai.variable', quantity: general - 100, userId: 'lead', idempotencyKey: 'burn' });
    const job = await stackOf().client.createJob('sales-team', { feature: 'lead.email-finder', userId: 'lead', idempotencyKey: 'prospects', records: records('prospect', 200), start: true });
    const paused = await eventually(() => stackOf().client.getJob(job.jobId), (current) => current.status === 'paused', 'the job to pause', 60_000);
    expect(paused.pauseReason).toBe('OUT_OF_CREDITS');
    // The calling credits were never touched by the job.
    expect((await stackOf().client.getAccount('sales-team')).grants.find((grant) => grant.id === calling?.id)?.remaining).toBe(360);
    await stackOf().client.topUp('sales-team', { credits: 1000, userId: 'lead', idempotencyKey: 'top-up-1' });
    expect((await stackOf().client.getJob(job.jobId)).status).toBe('paused');
    await stackOf().client.resumeJob(job.jobId);
    const done = await eventually(() => stackOf().client.getJob(job.jobId), (current) => current.status === 'completed', 'the job to complete', 60_000);
    expect(done.credits.charged).toBe(done.progress.verified * 5);

    const events = (await stackOf().client.events({ accountId: 'sales-team' })).events.map((event) => event.type);
    expect(events).toEqual(expect.arrayContaining(['job.started', 'job.paused', 'job.resumed', 'job.completed']));
  });
});
