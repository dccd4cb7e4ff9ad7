import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLedgerError, type LedgerErrorCode } from '../src/ledger/errors.js';
import type { Ledger } from '../src/ledger/ledger.js';
import type { Micros } from '../src/money.js';
import { credits, freshLedger } from './support/database.js';

let ledger: Ledger;
let pool: pg.Pool;

beforeAll(async () => {
  ({ ledger, pool } = await freshLedger());
});

afterAll(async () => {
  const report = await ledger.audit();
  expect(report.problems).toEqual([]);
  await pool.end();
});

const at = (iso: string) => new Date(iso);
let sequence = 0;
const key = (prefix = 'k') => `${prefix}-${++sequence}`;

async function expectLedgerError(promise: Promise<unknown>, code: LedgerErrorCode): Promise<Record<string, unknown>> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isLedgerError(error)) throw new Error(`expected LedgerError ${code}, got ${String(error)}`);
  expect(error.code).toBe(code);
  return { ...error.details, message: error.message };
}

async function newAccount(planId: string, options: { seats?: number; timeZone?: string; now?: Date } = {}) {
  const accountId = `acct-${++sequence}`;
  await ledger.createAccount({
    accountId,
    planId,
    seats: options.seats ?? 1,
    timeZone: options.timeZone ?? 'UTC',
    users: [
      { userId: 'admin', role: 'admin' },
      { userId: 'member', role: 'member' },
    ],
    now: options.now ?? at('2026-01-01T00:00:00Z'),
  });
  return accountId;
}

async function entryCount(accountId: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::bigint AS n FROM ledger_entries WHERE account_id = $1', [accountId]);
  return rows[0]?.n ?? -1;
}

describe('monthly allowance (BIM: refreshed on the 1st, never rolled over)', () => {
  it('leaves nothing of January for February, whether or not expiry has run', async () => {
    const accountId = await newAccount('bim-premium-regional');
    await ledger.grant({
      accountId, source: 'allowance', credits: credits(250),
      effectiveAt: at('2026-01-01T00:00:00Z'), expiresAt: at('2026-02-01T00:00:00Z'),
      idempotencyKey: `${accountId}:2026-01-01`, now: at('2026-01-01T00:00:00Z'),
    });
    // The next period's allowance is written ahead: not spendable before it starts.
    await ledger.grant({
      accountId, source: 'allowance', credits: credits(250),
      effectiveAt: at('2026-02-01T00:00:00Z'), expiresAt: at('2026-03-01T00:00:00Z'),
      idempotencyKey: `${accountId}:2026-02-01`, now: at('2026-01-15T00:00:00Z'),
    });
    await ledger.charge({ accountId, userId: 'member', feature: 'email.captured', quantity: 50, idempotencyKey: key(), now: at('2026-01-20T10:00:00Z') });

    const lastMoment = await ledger.balance({ accountId, now: at('2026-01-31T23:59:59.999Z') });
    expect(lastMoment.available).toBe(credits(200));
    expect(lastMoment.grants.map((grant) => grant.status)).toEqual(['active', 'pending']);

    // Nothing has expired the January grant yet, and still February starts at exactly 250.
    const february = await ledger.balance({ accountId, now: at('2026-02-01T00:00:00Z') });
    expect(february.available).toBe(credits(250));
    expect(february.bySource.allowance).toBe(credits(250));
    const details = await expectLedgerError(
      ledger.charge({ accountId, userId: 'member', feature: 'email.undiscovered', quantity: 126, idempotencyKey: key(), now: at('2026-02-01T00:00:00Z') }),
      'INSUFFICIENT_CREDITS',
    );
    expect(details).toMatchObject({ needed: 252, available: 250 });

    const [expired] = await ledger.expireDue({ accountId, now: at('2026-02-01T00:00:00Z') });
    expect(expired).toMatchObject({ expired: credits(200), alreadyExpired: false });
    expect(await ledger.expireDue({ accountId, now: at('2026-02-01T00:05:00Z') })).toEqual([]);
    const again = await ledger.expireGrant({ accountId, grantId: expired?.grantId ?? '', now: at('2026-02-02T00:00:00Z') });
    expect(again).toMatchObject({ expired: 0, alreadyExpired: true });
    expect((await ledger.balance({ accountId, now: at('2026-02-01T00:00:00Z') })).available).toBe(credits(250));
  });

  it('refuses to expire a grant before its expiry', async () => {
    const accountId = await newAccount('bim-premium-global');
    const grant = await ledger.grant({
      accountId, source: 'allowance', credits: credits(1000),
      effectiveAt: at('2026-01-01T00:00:00Z'), expiresAt: at('2026-02-01T00:00:00Z'),
      idempotencyKey: key(), now: at('2026-01-01T00:00:00Z'),
    });
    await expectLedgerError(ledger.expireGrant({ accountId, grantId: grant.grantId, now: at('2026-01-31T00:00:00Z') }), 'VALIDATION_FAILED');
    expect((await ledger.balance({ accountId, now: at('2026-01-31T00:00:00Z') })).available).toBe(credits(1000));
  });
});

describe('top-ups (purchased credits)', () => {
  it('are spent after included credits, survive the period end and can span one charge', async () => {
    const accountId = await newAccount('sales-email-pro');
    await ledger.grant({
      accountId, source: 'allowance', credits: credits(1000),
      effectiveAt: at('2026-01-01T00:00:00Z'), expiresAt: at('2026-02-01T00:00:00Z'),
      idempotencyKey: key(), now: at('2026-01-01T00:00:00Z'),
    });
    const topUp = await ledger.topUp({ accountId, userId: 'admin', credits: credits(100), idempotencyKey: key(), now: at('2026-01-02T00:00:00Z') });
    expect(topUp.balance.available).toBe(credits(1100));

    await ledger.charge({ accountId, userId: 'member', feature: 'lead.email-finder', quantity: 190, idempotencyKey: key(), now: at('2026-01-10T00:00:00Z') });
    let balance = await ledger.balance({ accountId, now: at('2026-01-10T00:00:00Z') });
    expect(balance.bySource).toMatchObject({ allowance: credits(50), purchase: credits(100) });

    // One charge of 60 draws the last 50 included credits, then 10 purchased ones.
    const spanning = await ledger.charge({ accountId, userId: 'member', feature: 'ai.variable', quantity: 60, idempotencyKey: key(), now: at('2026-01-11T00:00:00Z') });
    expect(spanning.credits).toBe(credits(60));
    balance = await ledger.balance({ accountId, now: at('2026-01-11T00:00:00Z') });
    expect(balance.bySource).toMatchObject({ allowance: 0, purchase: credits(90) });

    const months = await ledger.balance({ accountId, now: at('2027-06-01T00:00:00Z') });
    expect(months.available).toBe(credits(90));
    expect(months.bySource.purchase).toBe(credits(90));
  });

  it('with their own expiry are spent before those that never expire', async () => {
    const accountId = await newAccount('sales-email-pro');
    await ledger.topUp({ accountId, userId: 'admin', credits: credits(10), idempotencyKey: key(), now: at('2026-01-01T00:00:00Z') });
    await ledger.topUp({ accountId, userId: 'admin', credits: credits(10), expiresAt: at('2026-06-01T00:00:00Z'), idempotencyKey: key(), now: at('2026-01-02T00:00:00Z') });
    await ledger.charge({ accountId, userId: 'member', feature: 'ai.variable', quantity: 4, idempotencyKey: key(), now: at('2026-01-03T00:00:00Z') });
    const { grants } = await ledger.balance({ accountId, now: at('2026-01-03T00:00:00Z') });
    expect(grants.map((grant) => [grant.expiresAt, grant.remaining])).toEqual([
      ['2026-06-01T00:00:00.000Z', credits(6)],
      [null, credits(10)],
    ]);
  });

  it('can be bought by admins only', async () => {
    const accountId = await newAccount('sales-email-pro');
    await expectLedgerError(ledger.topUp({ accountId, userId: 'member', credits: credits(5), idempotencyKey: key(), now: at('2026-01-01T00:00:00Z') }), 'NOT_ADMIN');
    await expectLedgerError(ledger.topUp({ accountId, userId: 'stranger', credits: credits(5), idempotencyKey: key(), now: at('2026-01-01T00:00:00Z') }), 'NOT_ADMIN');
    expect((await ledger.balance({ accountId, now: at('2026-01-01T00:00:00Z') })).available).toBe(0);
  });
});

describe('fractional prices (AI features)', () => {
  it('adds 0.5 and 0.02 credit prices up exactly', async () => {
    const accountId = await newAccount('ecom-pro');
    await ledger.grant({
      accountId, source: 'allowance', credits: credits(2500),
      effectiveAt: at('2026-01-10T00:00:00Z'), expiresAt: at('2026-02-10T00:00:00Z'),
      idempotencyKey: key(), now: at('2026-01-10T00:00:00Z'),
    });
    const images = await ledger.charge({ accountId, userId: 'member', feature: 'ai.custom-image', quantity: 3, idempotencyKey: key(), now: at('2026-01-11T00:00:00Z') });
    expect(images.credits).toBe(credits(1.5));
    const fields = await ledger.charge({ accountId, userId: 'member', feature: 'ai.feed-field', quantity: 50, idempotencyKey: key(), now: at('2026-01-11T00:00:00Z') });
    expect(fields.credits).toBe(1_000_000);
    for (let index = 0; index < 49; index++) {
      await ledger.charge({ accountId, userId: 'member', feature: 'ai.feed-field', quantity: 1, idempotencyKey: key(), now: at('2026-01-12T00:00:00Z') });
    }
    await ledger.charge({ accountId, userId: 'member', feature: 'ai.custom-image', quantity: 1, idempotencyKey: key(), now: at('2026-01-12T00:00:00Z') });
    // 2500 - 1.5 - 1 - 49 × 0.02 - 0.5 = 2496.02 exactly
    const balance = await ledger.balance({ accountId, now: at('2026-01-12T00:00:00Z') });
    expect(balance.available).toBe(2_496_020_000);
    const usage = await ledger.usage({ accountId, from: at('2026-01-01T00:00:00Z'), to: at('2026-02-01T00:00:00Z'), groupBy: 'feature' });
    expect(usage).toEqual([
      { key: 'ai.custom-image', credits: credits(2), refunded: 0, quantity: 4, charges: 2 },
      { key: 'ai.feed-field', credits: 1_980_000, refunded: 0, quantity: 99, charges: 50 },
    ]);
  });
});

describe('re-export window (contact data: free within 30 days of the first charge)', () => {
  it('charges each record once per window, shared by export and push', async () => {
    const accountId = await newAccount('data-license');
    await ledger.grant({
      accountId, source: 'allowance', credits: credits(1000),
      effectiveAt: at('2026-01-01T00:00:00Z'), expiresAt: at('2027-01-01T00:00:00Z'),
      idempotencyKey: key(), now: at('2026-01-01T00:00:00Z'),
    });
    const first = await ledger.charge({ accountId, userId: 'member', feature: 'contact.export', subjectIds: ['c1', 'c2', 'c3', 'c3'], idempotencyKey: key(), now: at('2026-03-01T00:00:00Z') });
    expect(first).toMatchObject({ credits: credits(3), billableQuantity: 3, freeQuantity: 1 });

    const estimate = await ledger.estimate({ accountId, feature: 'contact.push', subjectIds: ['c1', 'c2', 'c4', 'c4'], now: at('2026-03-15T00:00:00Z') });
    expect(estimate).toEqual({
      feature: 'contact.push', maxCredits: credits(1), billableQuantity: 1, dedupedQuantity: 3, available: credits(997), sufficient: true,
    });
    const push = await ledger.charge({ accountId, userId: 'member', feature: 'contact.push', subjectIds: ['c1', 'c2', 'c4'], idempotencyKey: key(), now: at('2026-03-15T00:00:00Z') });
    expect(push).toMatchObject({ credits: credits(1), billableQuantity: 1, freeQuantity: 2 });

    // Day 30 after the first export is the last free moment; after it c1 is charged again.
    const lastFree = await ledger.charge({ accountId, userId: 'member', feature: 'contact.export', subjectIds: ['c1'], idempotencyKey: key(), now: at('2026-03-30T23:59:59Z') });
    expect(lastFree.credits).toBe(0);
    const afterWindow = await ledger.charge({ accountId, userId: 'member', feature: 'contact.export', subjectIds: ['c1', 'c4'], idempotencyKey: key(), now: at('2026-03-31T00:00:00Z') });
    expect(afterWindow).toMatchObject({ credits: credits(1), billableQuantity: 1 });
    expect((await ledger.balance({ accountId, now: at('2026-04-01T00:00:00Z') })).available).toBe(credits(995));
  });

  it('does not mark records as billed when the charge fails', async () => {
    const accountId = await newAccount('data-license');
    await ledger.grant({
      accountId, source: 'allowance', credits: credits(1),
      effectiveAt: at('2026-01-01T00:00:00Z'), expiresAt: at('2027-01-01T00:00:00Z'),
      idempotencyKey: key(), now: at('2026-01-01T00:00:00Z'),
    });
    await expectLedgerError(
      ledger.charge({ accountId, userId: 'member', feature: 'contact.export', subjectIds: ['a', 'b'], idempotencyKey: key(), now: at('2026-01-02T00:00:00Z') }),
      'INSUFFICIENT_CREDITS',
    );
    const estimate = await ledger.estimate({ accountId, feature: 'contact.export', subjectIds: ['a', 'b'], now: at('2026-01-02T00:00:00Z') });
    expect(estimate).toMatchObject({ maxCredits: credits(2), sufficient: false, available: credits(1) });
  });
});

describe('who may spend', () => {
  it('refuses a user the admin disallowed, with nothing charged, until allowed again', async () => {
    const accountId = await newAccount('data-license');
    await ledger.topUp({ accountId, userId: 'admin', credits: credits(10), idempotencyKey: key(), now: at('2026-01-01T00:00:00Z') });
    await ledger.setUser({ accountId, userId: 'member', role: 'member', creditsAllowed: false, now: at('2026-01-01T00:00:00Z') });
    const before = await entryCount(accountId);
    const details = await expectLedgerError(
      ledger.charge({ accountId, userId: 'member', feature: 'contact.export', quantity: 1, idempotencyKey: key(), now: at('2026-01-02T00:00:00Z') }),
      'CREDITS_DISALLOWED',
    );
    expect(details.message).toContain('member');
    await expectLedgerError(
      ledger.reserve({ accountId, userId: 'member', feature: 'contact.email-check', maxCredits: credits(1), idempotencyKey: key(), now: at('2026-01-02T00:00:00Z') }),
      'CREDITS_DISALLOWED',
    );
    expect(await entryCount(accountId)).toBe(before);
    await ledger.setUser({ accountId, userId: 'member', role: 'member', creditsAllowed: true, now: at('2026-01-03T00:00:00Z') });
    const charged = await ledger.charge({ accountId, userId: 'member', feature: 'contact.export', quantity: 1, idempotencyKey: key(), now: at('2026-01-03T00:00:00Z') });
    expect(charged.balance.available).toBe(credits(9));
  });

  it('gates features by plan', async () => {
    const basic = await newAccount('bim-basic');
    await ledger.topUp({ accountId: basic, userId: 'admin', credits: credits(100), idempotencyKey: key(), now: at('2026-01-01T00:00:00Z') });
    const details = await expectLedgerError(
      ledger.charge({ accountId: basic, userId: 'member', feature: 'email.captured', quantity: 1, idempotencyKey: key(), now: at('2026-01-02T00:00:00Z') }),
      'FEATURE_NOT_IN_PLAN',
    );
    expect(details).toMatchObject({ feature: 'email.captured', planId: 'bim-basic' });
    const promotion = await ledger.charge({ accountId: basic, userId: 'member', feature: 'promotion.product-week', variant: 'europe', quantity: 1, idempotencyKey: key(), now: at('2026-01-02T00:00:00Z') });
    expect(promotion.credits).toBe(credits(45));

    const standard = await newAccount('ecom-standard');
    await expectLedgerError(
      ledger.estimate({ accountId: standard, userId: 'member', feature: 'ai.dynamic-video', quantity: 1, now: at('2026-01-02T00:00:00Z') }),
      'FEATURE_NOT_IN_PLAN',
    );
    // Without a user too: an estimate must never promise what a charge would refuse.
    await expectLedgerError(ledger.estimate({ accountId: standard, feature: 'ai.dynamic-video', quantity: 1, now: at('2026-01-02T00:00:00Z') }), 'FEATURE_NOT_IN_PLAN');
  });

  it('lets restricted credits pay only for their features', async () => {
    const accountId = await newAccount('sales-multichannel-expert');
    await ledger.grant({
      accountId, source: 'allowance', credits: credits(400), features: ['call.minute'],
      effectiveAt: at('2026-01-01T00:00:00Z'), expiresAt: at('2026-02-01T00:00:00Z'),
      idempotencyKey: key(), now: at('2026-01-01T00:00:00Z'),
    });
    await expectLedgerError(
      ledger.charge({ accountId, userId: 'member', feature: 'lead.phone-finder', quantity: 1, idempotencyKey: key(), now: at('2026-01-02T00:00:00Z') }),
      'INSUFFICIENT_CREDITS',
    );
    const call = await ledger.charge({ accountId, userId: 'member', feature: 'call.minute', quantity: 100, idempotencyKey: key(), now: at('2026-01-02T00:00:00Z') });
    expect(call.credits).toBe(credits(400));
  });
});

describe('errors', () => {
  it('are typed, precise and change nothing', async () => {
    const accountId = await newAccount('sales-email-pro');
    await ledger.topUp({ accountId, userId: 'admin', credits: credits(3), idempotencyKey: key(), now: at('2026-01-01T00:00:00Z') });
    const before = await entryCount(accountId);
    const now = at('2026-01-02T00:00:00Z');
    await expectLedgerError(ledger.charge({ accountId: 'nobody', userId: 'member', feature: 'ai.variable', idempotencyKey: key(), now }), 'UNKNOWN_ACCOUNT');
    await expectLedgerError(ledger.charge({ accountId, userId: 'member', feature: 'teleport', idempotencyKey: key(), now }), 'UNKNOWN_FEATURE');
    const invalid = await expectLedgerError(ledger.charge({ accountId, userId: 'member', feature: 'ai.variable', quantity: -2, idempotencyKey: key(), now }), 'VALIDATION_FAILED');
    expect(invalid.issues).toEqual([expect.objectContaining({ path: 'quantity' })]);
    await expectLedgerError(ledger.charge({ accountId, userId: 'member', feature: 'ai.variable', quantity: 1.5, idempotencyKey: key(), now }), 'VALIDATION_FAILED');
    await expectLedgerError(ledger.topUp({ accountId, userId: 'admin', credits: 0.5 as Micros, idempotencyKey: key(), now }), 'VALIDATION_FAILED');
    await expectLedgerError(ledger.charge({ accountId, userId: 'member', feature: 'promotion.product-week', variant: 'mars', idempotencyKey: key(), now }), 'VALIDATION_FAILED');
    const insufficient = await expectLedgerError(
      ledger.charge({ accountId, userId: 'member', feature: 'lead.email-finder', quantity: 1, idempotencyKey: key(), now }),
      'INSUFFICIENT_CREDITS',
    );
    expect(insufficient).toMatchObject({ needed: 5, available: 3 });
    expect(insufficient.message).toBe('insufficient credits: 5 needed, 3 available');
    await expectLedgerError(
      ledger.createAccount({ accountId, planId: 'bim-basic', now }),
      'ACCOUNT_EXISTS',
    );
    await expectLedgerError(ledger.createAccount({ accountId: 'x-1', planId: 'no-such-plan', now }), 'UNKNOWN_PLAN');
    await expectLedgerError(ledger.createAccount({ accountId: 'x-2', planId: 'bim-basic', timeZone: 'Mars/Olympus', now }), 'VALIDATION_FAILED');
    expect(await entryCount(accountId)).toBe(before);
    expect((await ledger.balance({ accountId, now })).available).toBe(credits(3));
  });

  it('creating the same account twice is safe', async () => {
    const now = at('2026-01-01T00:00:00Z');
    const first = await ledger.createAccount({ accountId: 'repeat-1', planId: 'bim-basic', timeZone: 'Europe/Stockholm', now });
    const second = await ledger.createAccount({ accountId: 'repeat-1', planId: 'bim-basic', timeZone: 'Europe/Stockholm', now: at('2026-01-02T00:00:00Z') });
    expect(first.created).toBe(true);
    expect(second).toEqual({ ...first, created: false });
  });
});

describe('idempotency', () => {
  it('charges once for a replayed charge, top-up and grant, and refuses a reused key', async () => {
    const accountId = await newAccount('sales-email-pro');
    const now = at('2026-01-05T00:00:00Z');
    const topUp = { accountId, userId: 'admin', credits: credits(100), idempotencyKey: 'topup-1', now };
    const firstTopUp = await ledger.topUp(topUp);
    const replayedTopUp = await ledger.topUp({ ...topUp, now: at('2026-01-06T00:00:00Z') });
    expect(replayedTopUp).toEqual({ ...firstTopUp, replayed: true });

    const grant = {
      accountId, source: 'promo' as const, credits: credits(7),
      effectiveAt: now, idempotencyKey: 'promo-1', now,
    };
    const firstGrant = await ledger.grant(grant);
    expect((await ledger.grant(grant)).grantId).toBe(firstGrant.grantId);

    const charge = { accountId, userId: 'member', feature: 'lead.email-finder', quantity: 2, idempotencyKey: 'charge-1', now };
    const first = await ledger.charge(charge);
    const replay = await ledger.charge(charge);
    expect(first.replayed).toBe(false);
    expect(replay).toEqual({ ...first, replayed: true });
    const details = await expectLedgerError(ledger.charge({ ...charge, quantity: 3 }), 'IDEMPOTENCY_CONFLICT');
    expect(details).toMatchObject({ idempotencyKey: 'charge-1', previousKind: 'charge' });
    await expectLedgerError(ledger.topUp({ ...topUp, idempotencyKey: 'charge-1' }), 'IDEMPOTENCY_CONFLICT');

    expect((await ledger.balance({ accountId, now })).available).toBe(credits(97));
  });

  it('gives the free trial once per account, ever', async () => {
    const accountId = await newAccount('sales-email-pro');
    const now = at('2026-01-01T00:00:00Z');
    const trial = { accountId, source: 'trial' as const, credits: credits(500), effectiveAt: now, expiresAt: at('2026-01-15T00:00:00Z'), idempotencyKey: `${accountId}:trial`, now };
    await ledger.grant(trial);
    expect((await ledger.grant(trial)).replayed).toBe(true);
    await expectLedgerError(ledger.grant({ ...trial, idempotencyKey: 'another-trial' }), 'TRIAL_ALREADY_GRANTED');
    expect((await ledger.balance({ accountId, now })).bySource.trial).toBe(credits(500));
  });
});

describe('usage', () => {
  it('reports credits per feature, user, job and day in the account time zone', async () => {
    const accountId = await newAccount('sales-email-pro', { timeZone: 'America/Los_Angeles' });
    for (const userId of ['ann', 'bob']) await ledger.setUser({ accountId, userId, role: 'member', creditsAllowed: true, now: at('2026-01-01T00:00:00Z') });
    await ledger.topUp({ accountId, userId: 'admin', credits: credits(100), idempotencyKey: key(), now: at('2026-01-01T00:00:00Z') });
    await ledger.charge({ accountId, userId: 'ann', feature: 'ai.variable', quantity: 2, idempotencyKey: key(), now: at('2026-01-02T07:59:00Z') });
    await ledger.charge({ accountId, userId: 'bob', feature: 'lead.email-finder', quantity: 1, idempotencyKey: key(), now: at('2026-01-02T08:00:00Z') });
    const hold = await ledger.reserve({ accountId, userId: 'bob', feature: 'lead.email-finder', jobId: 'job-9', maxCredits: credits(10), idempotencyKey: key(), now: at('2026-01-02T09:00:00Z') });
    await ledger.chargeHold({ accountId, holdId: hold.holdId, idempotencyKey: 'job-9:r1', now: at('2026-01-02T09:01:00Z') });
    const range = { accountId, from: at('2026-01-01T00:00:00Z'), to: at('2026-02-01T00:00:00Z') };
    expect(await ledger.usage({ ...range, groupBy: 'user' })).toEqual([
      { key: 'ann', credits: credits(2), refunded: 0, quantity: 2, charges: 1 },
      { key: 'bob', credits: credits(10), refunded: 0, quantity: 2, charges: 2 },
    ]);
    expect(await ledger.usage({ ...range, groupBy: 'day' })).toEqual([
      { key: '2026-01-01', credits: credits(2), refunded: 0, quantity: 2, charges: 1 },
      { key: '2026-01-02', credits: credits(10), refunded: 0, quantity: 2, charges: 2 },
    ]);
    expect((await ledger.usage({ ...range, groupBy: 'job' })).find((row) => row.key === 'job-9')).toEqual({ key: 'job-9', credits: credits(5), refunded: 0, quantity: 1, charges: 1 });
    expect(await ledger.usage({ ...range, groupBy: 'feature' })).toHaveLength(2);
    const entries = await ledger.entries({ accountId, limit: 2 });
    expect(entries.map((entry) => entry.kind)).toEqual(['grant', 'charge']);
    const next = await ledger.entries({ accountId, afterEntryId: entries[1]?.entryId ?? 0 });
    expect(next.map((entry) => entry.kind)).toEqual(['charge', 'hold', 'charge']);
  });
});
