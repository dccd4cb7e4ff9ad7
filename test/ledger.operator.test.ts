/**
 * An operator's money tools in the ledger (adjustments, refunds) and the balance alerts, on a real
 * PostgreSQL: refunds never exceed the charge over any number of them, credits from an expired grant
 * are reported and not put back, removal never touches held credits, and balance.low and
 * balance.depleted fire once per crossing, also under 50 concurrent charges.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLedgerError, type LedgerErrorCode } from '../src/ledger/errors.js';
import type { Ledger } from '../src/ledger/ledger.js';
import { credits, freshLedger } from './support/database.js';

let ledger: Ledger;
let pool: pg.Pool;

beforeAll(async () => {
  ({ ledger, pool } = await freshLedger());
});

afterAll(async () => {
  await pool.end();
});

const at = (iso: string) => new Date(iso);
const JAN = at('2026-01-01T00:00:00Z');
const FEB = at('2026-02-01T00:00:00Z');
let sequence = 0;
const key = (prefix = 'k') => `${prefix}-${++sequence}`;
const operator = { operator: 'jane@support', reason: 'customer ticket 4711' };

async function ledgerError(promise: Promise<unknown>, code: LedgerErrorCode): Promise<Record<string, unknown>> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isLedgerError(error)) throw new Error(`expected LedgerError ${code}, got ${String(error)}`);
  expect(error.code).toBe(code);
  return { ...error.details };
}

/** An account on a plan with `allowance` credits for January, and `member` registered. */
async function accountWith(allowance: number, options: { expiresAt?: Date } = {}): Promise<{ accountId: string; allowanceGrant: string }> {
  const accountId = `op-${++sequence}`;
  await ledger.createAccount({ accountId, planId: 'sales-email-pro', users: [{ userId: 'member', role: 'member' }, { userId: 'admin', role: 'admin' }], now: JAN });
  const grant = await ledger.grant({
    accountId,
    source: 'allowance',
    credits: credits(allowance),
    effectiveAt: JAN,
    expiresAt: options.expiresAt ?? FEB,
    idempotencyKey: key('allowance'),
    now: JAN,
  });
  return { accountId, allowanceGrant: grant.grantId };
}

const available = async (accountId: string, now = at('2026-01-10T00:00:00Z')) => (await ledger.balance({ accountId, now })).available;
const spend = (accountId: string, quantity: number, now = at('2026-01-05T00:00:00Z')) =>
  ledger.charge({ accountId, userId: 'member', feature: 'ai.variable', quantity, idempotencyKey: key('charge'), now });
const refund = (accountId: string, chargeId: string, amount?: number, options: { idempotencyKey?: string; now?: Date } = {}) =>
  ledger.refund({
    accountId,
    chargeId,
    ...(amount === undefined ? {} : { credits: credits(amount) }),
    ...operator,
    idempotencyKey: options.idempotencyKey ?? key('refund'),
    now: options.now ?? at('2026-01-10T00:00:00Z'),
  });

async function auditProblems(accountId: string) {
  return (await ledger.audit({ accountId })).problems;
}

async function eventsOf(accountId: string): Promise<{ type: string; payload: Record<string, unknown> }[]> {
  const { rows } = await pool.query<{ event_type: string; payload: Record<string, unknown> }>(
    'SELECT event_type, payload FROM domain_events WHERE account_id = $1 ORDER BY event_id',
    [accountId],
  );
  return rows.map((row) => ({ type: row.event_type, payload: row.payload }));
}

describe('refunds', () => {
  it('refund a charge in part, several times up to its total, and never more', async () => {
    const { accountId } = await accountWith(100);
    const charge = await spend(accountId, 30);
    expect(await available(accountId)).toBe(credits(70));

    const first = await refund(accountId, charge.chargeId, 10);
    expect(first).toMatchObject({ credits: credits(10), returned: credits(10), expired: 0, charge: { credits: credits(30), refunded: credits(10), refundable: credits(20) } });
    const second = await refund(accountId, charge.chargeId, 15);
    expect(second.charge).toEqual({ credits: credits(30), refunded: credits(25), refundable: credits(5) });
    const over = await ledgerError(refund(accountId, charge.chargeId, 6), 'REFUND_EXCEEDS_CHARGE');
    expect(over).toMatchObject({ charged: 30, refunded: 25, refundable: 5 });
    const rest = await refund(accountId, charge.chargeId);
    expect(rest).toMatchObject({ credits: credits(5), returned: credits(5), charge: { refundable: 0 } });
    await ledgerError(refund(accountId, charge.chargeId), 'REFUND_EXCEEDS_CHARGE');
    expect(await available(accountId)).toBe(credits(100));
    expect(await auditProblems(accountId)).toEqual([]);
  });

  it('refund a whole charge, and a replay of the refund changes nothing', async () => {
    const { accountId } = await accountWith(100);
    const charge = await spend(accountId, 12);
    const idempotencyKey = key('refund');
    const full = await refund(accountId, charge.chargeId, undefined, { idempotencyKey });
    expect(full).toMatchObject({ credits: credits(12), returned: credits(12), replayed: false, balance: { available: credits(100) } });
    const replay = await refund(accountId, charge.chargeId, undefined, { idempotencyKey });
    expect(replay).toEqual({ ...full, replayed: true });
    expect(await available(accountId)).toBe(credits(100));
    // The same key for another refund is a conflict, not a second refund.
    await ledgerError(refund(accountId, charge.chargeId, 1, { idempotencyKey }), 'IDEMPOTENCY_CONFLICT');
    await ledgerError(refund(accountId, '999999'), 'UNKNOWN_CHARGE');
    const usage = await ledger.usage({ accountId, from: JAN, to: FEB, groupBy: 'feature' });
    expect(usage).toEqual([{ key: 'ai.variable', credits: credits(12), refunded: credits(12), quantity: 12, charges: 1 }]);
    expect(await auditProblems(accountId)).toEqual([]);
  });

  it('report, and do not put back, what came from a grant that has expired since', async () => {
    const { accountId, allowanceGrant } = await accountWith(10);
    const purchase = await ledger.topUp({ accountId, userId: 'admin', credits: credits(50), idempotencyKey: key('top-up'), now: JAN });
    // 10 from the January allowance, then 5 from the purchase.
    const charge = await spend(accountId, 15, at('2026-01-20T00:00:00Z'));
    await ledger.expireDue({ accountId, now: FEB });

    const february = at('2026-02-03T00:00:00Z');
    const result = await refund(accountId, charge.chargeId, undefined, { now: february });
    expect(result).toMatchObject({ credits: credits(15), returned: credits(5), expired: credits(10) });
    expect(result.grants).toEqual([
      { grantId: purchase.grantId, credits: credits(5), returned: true },
      { grantId: allowanceGrant, credits: credits(10), returned: false },
    ]);
    expect(await available(accountId, february)).toBe(credits(50));
    // The expired part counts as refunded: the charge has nothing left to refund.
    await ledgerError(refund(accountId, charge.chargeId, 1, { now: february }), 'REFUND_EXCEEDS_CHARGE');
    expect(await auditProblems(accountId)).toEqual([]);
  });

  it('the audit finds refunds beyond their charge written behind the ledger', async () => {
    const { accountId } = await accountWith(100);
    const charge = await spend(accountId, 5);
    await refund(accountId, charge.chargeId, 5);
    await pool.query(`UPDATE operations SET credits = credits + 1000000 WHERE refund_of = $1`, [charge.chargeId]);
    expect((await auditProblems(accountId)).map((problem) => problem.check)).toContain('refunds_within_charge');
  });
});

describe('adjustments', () => {
  it('add promo credits that expire and pay only for some features, then remove some, attributed', async () => {
    const { accountId } = await accountWith(0.5);
    const added = await ledger.adjust({
      accountId,
      action: 'add',
      source: 'promo',
      credits: credits(40),
      expiresAt: at('2026-03-01T00:00:00Z'),
      features: ['ai.variable'],
      ...operator,
      idempotencyKey: key('adjust'),
      now: at('2026-01-02T00:00:00Z'),
    });
    expect(added.grant).toMatchObject({ source: 'promo', credits: credits(40), remaining: credits(40), expiresAt: '2026-03-01T00:00:00.000Z' });
    expect(await available(accountId)).toBe(credits(40.5));
    const removed = await ledger.adjust({ accountId, action: 'remove', grantId: added.grant.grantId, credits: credits(15), ...operator, idempotencyKey: key('adjust'), now: at('2026-01-03T00:00:00Z') });
    expect(removed.grant.remaining).toBe(credits(25));
    expect(removed.balance.available).toBe(credits(25.5));
    const { rows } = await pool.query<{ kind: string; operator: string; reason: string; credits: number }>(
      `SELECT kind, operator, reason, credits FROM operations WHERE account_id = $1 AND kind = 'adjustment' ORDER BY operation_id`,
      [accountId],
    );
    expect(rows).toEqual([
      { kind: 'adjustment', ...operator, credits: credits(40) },
      { kind: 'adjustment', ...operator, credits: credits(15) },
    ]);
    const entries = await ledger.entries({ accountId });
    expect(entries.filter((entry) => entry.kind === 'adjust').map((entry) => entry.amount)).toEqual([-15_000_000]);
    // The promo pays for its feature only.
    await ledgerError(ledger.charge({ accountId, userId: 'member', feature: 'lead.email-finder', quantity: 1, idempotencyKey: key(), now: at('2026-01-04T00:00:00Z') }), 'INSUFFICIENT_CREDITS');
    expect(await auditProblems(accountId)).toEqual([]);
  });

  it('never remove credits below zero, nor those a job holds', async () => {
    const { accountId, allowanceGrant } = await accountWith(100);
    const now = at('2026-01-04T00:00:00Z');
    await ledger.reserve({ accountId, userId: 'member', feature: 'lead.email-finder', maxCredits: credits(70), idempotencyKey: key('hold'), now });
    const refused = await ledgerError(ledger.adjust({ accountId, action: 'remove', grantId: allowanceGrant, credits: credits(31), ...operator, idempotencyKey: key(), now }), 'REMOVAL_EXCEEDS_GRANT');
    expect(refused).toMatchObject({ removable: 30, held: 70 });
    await ledger.adjust({ accountId, action: 'remove', grantId: allowanceGrant, credits: credits(30), ...operator, idempotencyKey: key(), now });
    await ledgerError(ledger.adjust({ accountId, action: 'remove', grantId: allowanceGrant, credits: credits(1), ...operator, idempotencyKey: key(), now }), 'REMOVAL_EXCEEDS_GRANT');
    await ledgerError(ledger.adjust({ accountId, action: 'remove', grantId: '999999', credits: credits(1), ...operator, idempotencyKey: key(), now }), 'UNKNOWN_GRANT');
    // An operator's reason is required.
    await ledgerError(ledger.adjust({ accountId, action: 'remove', grantId: allowanceGrant, credits: credits(1), operator: 'jane', reason: '', idempotencyKey: key(), now }), 'VALIDATION_FAILED');
    expect((await ledger.balance({ accountId, now })).held).toBe(credits(70));
    expect(await auditProblems(accountId)).toEqual([]);
  });
});

describe('balance alerts', () => {
  it('balance.low and balance.depleted fire once per crossing, and a top-up arms them again', async () => {
    const { accountId } = await accountWith(100);
    // Default threshold: 10 % of the period's allowance, 10 credits.
    await spend(accountId, 85);
    await spend(accountId, 4);
    expect(await eventsOf(accountId)).toEqual([]);
    const crossing = await spend(accountId, 2);
    await spend(accountId, 1);
    expect(await eventsOf(accountId)).toEqual([{ type: 'balance.low', payload: { available: credits(9), threshold: credits(10), operationId: crossing.chargeId } }]);
    const last = await spend(accountId, 8);
    expect((await eventsOf(accountId)).map((event) => event.type)).toEqual(['balance.low', 'balance.depleted']);
    expect((await eventsOf(accountId))[1]?.payload).toEqual({ available: 0, threshold: credits(10), operationId: last.chargeId });

    await ledger.topUp({ accountId, userId: 'admin', credits: credits(20), idempotencyKey: key('top-up'), now: at('2026-01-06T00:00:00Z') });
    await spend(accountId, 15, at('2026-01-07T00:00:00Z'));
    expect((await eventsOf(accountId)).map((event) => event.type)).toEqual(['balance.low', 'balance.depleted', 'balance.low']);
  });

  it('a threshold of the account\'s own, and a hold that crosses it', async () => {
    const { accountId } = await accountWith(100);
    await ledger.updateSettings({ accountId, lowBalanceMicros: credits(50) });
    expect(await ledger.getSettings({ accountId })).toMatchObject({ lowBalanceMicros: credits(50) });
    await ledger.reserve({ accountId, userId: 'member', feature: 'lead.email-finder', maxCredits: credits(60), idempotencyKey: key('hold'), now: at('2026-01-04T00:00:00Z') });
    expect(await eventsOf(accountId)).toMatchObject([{ type: 'balance.low', payload: { available: credits(40), threshold: credits(50) } }]);
  });

  it('50 concurrent charges cross each threshold once', async () => {
    const { accountId } = await accountWith(100);
    const now = at('2026-01-05T00:00:00Z');
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => ledger.charge({ accountId, userId: 'member', feature: 'ai.variable', quantity: 3, idempotencyKey: key('race'), now })),
    );
    // 33 charges of 3 fit in 100; the rest are refused.
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(33);
    expect(await available(accountId)).toBe(credits(1));
    expect((await eventsOf(accountId)).map((event) => event.type)).toEqual(['balance.low']);
    await spend(accountId, 1);
    expect((await eventsOf(accountId)).map((event) => event.type)).toEqual(['balance.low', 'balance.depleted']);
  });
});
