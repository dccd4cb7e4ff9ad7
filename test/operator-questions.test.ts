/**
 * An operator who knows nothing of the code asks three questions of an account that has lived a
 * little (charges by two users in the same second, a refund, an adjustment, a job paused for lack
 * of credits, a period boundary), and each is answered exactly, without ambiguity, by one API call
 * and by one CLI command:
 *  1. why was this account charged 20 at that second?
 *  2. why is this job paused, and what does it need?
 *  3. when does this account renew, with how much, and what expires then?
 * The time-skipping server moves time across the boundary; the API reads the same clock.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { zonedIso } from '../src/periods/periods.js';
import { API_TOKEN, useApiStack } from './support/api-stack.js';
import { cliOutput } from './support/cli.js';
import { records } from './support/jobs.js';
import { eventually } from './support/temporal.js';

let clock = new Date();
const stackOf = useApiStack({ server: 'time-skipping', now: () => clock });
const ZONE = 'Europe/Paris';
const ACCOUNT = 'operator-paris';
const operator = { operator: 'jane@support', reason: 'two of the four leads bounced' };

/** The moment of question 1: two 20-credit charges by different users inside this second. */
let second: Date;
let firstPeriodEnd: string;
let chargeOfAnn: string;
let chargeOfBob: string;

const cli = (args: string[]) => cliOutput(args, { api: { url: stackOf().api.url, token: API_TOKEN } });

async function syncClock(): Promise<void> {
  clock = new Date(await stackOf().env.currentTimeMs());
}

beforeAll(async () => {
  const { client, env } = stackOf();
  await syncClock();
  const opened = await client.createAccount({
    accountId: ACCOUNT,
    planId: 'sales-email-pro',
    timeZone: ZONE,
    users: [{ userId: 'ann', role: 'admin' }, { userId: 'bob', role: 'member' }],
  });
  if (!opened.period) throw new Error('the account opened without a period');
  firstPeriodEnd = opened.period.end;
  await client.charge(ACCOUNT, { feature: 'ai.variable', quantity: 7, userId: 'ann', idempotencyKey: 'before-the-boundary' });

  // The boundary: the first allowance's remainder expires, the next period's allowance takes effect.
  await env.sleep(Date.parse(firstPeriodEnd) - clock.getTime() + 1_000);
  await syncClock();
  await eventually(() => client.getAccount(ACCOUNT), (account) => account.period?.start === firstPeriodEnd, 'the account in its second period');

  await client.topUp(ACCOUNT, { credits: 50, userId: 'ann', idempotencyKey: 'top-up-1' });
  second = new Date(Math.floor(clock.getTime() / 1000) * 1000 + 2_000);
  clock = new Date(second.getTime() + 100);
  chargeOfAnn = (await client.charge(ACCOUNT, { feature: 'ai.variable', quantity: 20, userId: 'ann', idempotencyKey: 'ann-variables' })).chargeId;
  clock = new Date(second.getTime() + 600);
  chargeOfBob = (await client.charge(ACCOUNT, { feature: 'lead.email-finder', quantity: 4, userId: 'bob', idempotencyKey: 'bob-leads' })).chargeId;
  clock = new Date(second.getTime() + 60_000);
  await client.refund(ACCOUNT, chargeOfBob, { credits: 10, ...operator, idempotencyKey: 'refund-1' });
  const purchase = (await client.grants(ACCOUNT, { source: 'purchase' })).grants[0];
  if (!purchase) throw new Error('no purchase grant');
  await client.adjust(ACCOUNT, { action: 'remove', grantId: purchase.id, credits: 50, operator: 'jane@support', reason: 'paid twice, refunded by card', idempotencyKey: 'adjust-1' });
  // What is left of the allowance (1,000 − 20 − 20 + 10 = 970) is spent down to 3 credits.
  await client.charge(ACCOUNT, { feature: 'ai.variable', quantity: 967, userId: 'ann', idempotencyKey: 'spend-down' });
  // 7 records at 5 credits: 3 credits can be held, none of the records paid.
  await client.createJob(ACCOUNT, { jobId: 'import-1', feature: 'lead.email-finder', userId: 'bob', idempotencyKey: 'import-1', records: records('i', 7), start: true });
  await eventually(() => client.getJob('import-1'), (job) => job.status === 'paused', 'the job paused');
}, 120_000);

describe('an operator asks', () => {
  it('1. why was this account charged 20 at that second: its charges in that second, each with its cause and the grants that paid', async () => {
    const from = second.toISOString();
    const to = new Date(second.getTime() + 1_000).toISOString();
    const { charges, nextAfter } = await stackOf().client.charges(ACCOUNT, { from, to });
    expect(nextAfter).toBeNull();
    const allowance = charges[0]?.grants[0]?.grantId;
    expect(charges).toEqual([
      {
        chargeId: chargeOfAnn,
        kind: 'charge',
        occurredAt: new Date(second.getTime() + 100).toISOString(),
        feature: 'ai.variable',
        variant: null,
        userId: 'ann',
        quantity: 20,
        credits: 20,
        refunded: 0,
        jobId: null,
        idempotencyKey: 'ann-variables',
        origin: 'client',
        grants: [{ grantId: allowance, source: 'allowance', credits: 20 }],
      },
      {
        chargeId: chargeOfBob,
        kind: 'charge',
        occurredAt: new Date(second.getTime() + 600).toISOString(),
        feature: 'lead.email-finder',
        variant: null,
        userId: 'bob',
        quantity: 4,
        credits: 20,
        refunded: 10,
        jobId: null,
        idempotencyKey: 'bob-leads',
        origin: 'client',
        grants: [{ grantId: allowance, source: 'allowance', credits: 20 }],
      },
    ]);

    const table = await cli(['charges', ACCOUNT, '--from', from, '--to', to]);
    const rows = table.split('\n').filter((line) => line.includes('│') && !line.includes('occurred'));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(new RegExp(`${chargeOfAnn}\\s*│\\s*${escape(zonedIso(charges[0]?.occurredAt ?? '', ZONE))}\\s*│\\s*ai.variable\\s*│\\s*ann\\s*│\\s*20\\s*│\\s*20\\s*│\\s*│\\s*│\\s*ann-variables\\s*│\\s*20 allowance`));
    expect(rows[1]).toMatch(new RegExp(`${chargeOfBob}\\s*│.*│\\s*lead.email-finder\\s*│\\s*bob\\s*│\\s*4\\s*│\\s*20\\s*│\\s*10\\s*│\\s*│\\s*bob-leads\\s*│\\s*20 allowance`));
    // The refund that gave 10 of Bob's back says whose charge it was and why, in the ledger.
    const refunds = await stackOf().client.ledger(ACCOUNT, { kind: 'refund' });
    expect(refunds.entries.map((entry) => [entry.amount, entry.cause.refundOf, entry.cause.userId, entry.cause.reason])).toEqual([[10, chargeOfBob, 'bob', operator.reason]]);
  });

  it('2. why is this job paused, and what does it need: its view says so, with the account balance', async () => {
    const job = await stackOf().client.getJob('import-1');
    expect(job).toMatchObject({
      status: 'paused',
      pauseReason: 'OUT_OF_CREDITS',
      progress: { total: 7, processed: 0 },
      credits: { reserved: 3, held: 3, charged: 0, needed: 7 * 5 - 3, accountAvailable: 0 },
    });
    const shown = await cli(['job', 'import-1']);
    expect(shown).toMatch(/status\s*│\s*paused/);
    expect(shown).toMatch(/still needed\s*│\s*32 /);
    expect(shown).toMatch(/account available\s*│\s*0\b/);
    // The ledger shows what the job holds and from which grant.
    const held = await stackOf().client.ledger(ACCOUNT, { jobId: 'import-1' });
    expect(held.entries.map((entry) => [entry.kind, entry.heldChange, entry.grantSource, entry.cause.reason])).toEqual([
      ['hold', 3, 'allowance', 'credits held for job import-1 (lead.email-finder by bob)'],
    ]);
  });

  it('3. when does it renew, with how much, and what expires then: the renewal, in the account time zone in the CLI', async () => {
    const account = await stackOf().client.getAccount(ACCOUNT);
    const end = account.period?.end;
    if (!end) throw new Error('no period');
    const current = account.grants.find((grant) => grant.source === 'allowance' && grant.status === 'active');
    const next = account.grants.find((grant) => grant.source === 'allowance' && grant.status === 'pending');
    expect(account.renewal).toEqual({
      at: end,
      grants: [{ grantId: next?.id, source: 'allowance', credits: 1000 }],
      expires: [{ grantId: current?.id, source: 'allowance', credits: 3, expiresAt: end }],
    });
    const shown = await cli(['balance', ACCOUNT]);
    const local = zonedIso(end, ZONE);
    expect(local).toMatch(/T00:00:00\+0[12]:00$/);
    expect(shown).toMatch(new RegExp(`renews\\s*│\\s*${escape(local)}`));
    expect(shown).toMatch(new RegExp(`granted then\\s*│\\s*1,000 allowance \\(grant ${next?.id ?? '?'}\\)`));
    expect(shown).toMatch(new RegExp(`expiring\\s*│\\s*3 allowance \\(grant ${current?.id ?? '?'}\\)`));
  });

  it("and each period's statement adds up: the first closed at the boundary, the second running", async () => {
    const { client } = stackOf();
    // Any instant of the first period names it: here its last millisecond.
    const first = await client.statement(ACCOUNT, { period: new Date(Date.parse(firstPeriodEnd) - 1).toISOString() });
    expect(first).toMatchObject({
      period: { end: firstPeriodEnd, nextStart: firstPeriodEnd, previousStart: null },
      opening: { total: 0 },
      granted: { total: 1000, bySource: { allowance: 1000 } },
      charged: { total: 7, byUser: [{ key: 'ann', credits: 7, charges: 1, quantity: 7 }] },
      expired: { total: 993, bySource: { allowance: 993 } },
      closing: { total: 0 },
    });
    const running = await client.statement(ACCOUNT);
    expect(running).toMatchObject({
      period: { start: firstPeriodEnd, previousStart: first.period.start },
      asOf: clock.toISOString(),
      opening: { total: 0 },
      granted: { total: 1050, bySource: { allowance: 1000, purchase: 50 } },
      charged: {
        total: 20 + 20 + 967,
        byFeature: [
          { key: 'ai.variable', credits: 987, charges: 2, quantity: 987 },
          { key: 'lead.email-finder', credits: 20, charges: 1, quantity: 4 },
        ],
        byUser: [
          { key: 'ann', credits: 987, charges: 2, quantity: 987 },
          { key: 'bob', credits: 20, charges: 1, quantity: 4 },
        ],
      },
      refunded: 10,
      adjusted: 50,
      expired: { total: 0 },
      holds: { placed: 3, released: 0, chargedFromHolds: 0, heldAtClose: 3 },
      closing: { total: 3, bySource: { allowance: 3 } },
    });
    const account = await client.getAccount(ACCOUNT);
    expect(running.closing.total).toBe(account.balance.available + account.balance.held);
    const shown = await cli(['statement', ACCOUNT]);
    expect(shown).toMatch(/opening balance\s*│\s*0/);
    expect(shown).toMatch(/= closing balance\s*│\s*3 \(allowance 3\)/);
    expect(shown).toMatch(/by user\s*│\s*bob 20 \(1 charge, 4 units\)/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
