/**
 * The ledger explains itself, on a real PostgreSQL: every entry carries its cause (operation, key,
 * feature, variant, user, quantity, job and records; the hold a release ends, the grant and period
 * an expiry ends), the explorer narrows entries and charges by each filter, a charge answers when
 * it happened and which grants paid, and grants are listed whatever their status.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
const MAR = at('2026-03-01T00:00:00Z');
const operator = { operator: 'jane@support', reason: 'ticket 4711' };
let sequence = 0;

/** January's allowance of 100, a top-up of 50 by `admin`, and users `ann` and `bob`. */
async function account(planId = 'sales-email-pro') {
  const accountId = `explain-${++sequence}`;
  await ledger.createAccount({
    accountId,
    planId,
    users: [{ userId: 'admin', role: 'admin' }, { userId: 'ann', role: 'member' }, { userId: 'bob', role: 'member' }],
    now: JAN,
  });
  const allowance = await ledger.grant({ accountId, source: 'allowance', credits: credits(100), effectiveAt: JAN, expiresAt: FEB, idempotencyKey: `allowance-${accountId}`, now: JAN });
  const purchase = await ledger.topUp({ accountId, userId: 'admin', credits: credits(50), idempotencyKey: 'top-up-1', now: JAN });
  return { accountId, allowance: allowance.grantId, purchase: purchase.grantId };
}

describe('a charge answer', () => {
  it('says when it happened and which grants paid, also when replayed', async () => {
    const { accountId, allowance, purchase } = await account();
    const now = at('2026-01-05T08:38:18.250Z');
    const first = await ledger.charge({ accountId, userId: 'ann', feature: 'ai.variable', quantity: 120, idempotencyKey: 'big', now });
    expect(first.occurredAt).toBe(now.toISOString());
    expect(first.grants).toEqual([
      { grantId: allowance, source: 'allowance', credits: credits(100) },
      { grantId: purchase, source: 'purchase', credits: credits(20) },
    ]);
    const replay = await ledger.charge({ accountId, userId: 'ann', feature: 'ai.variable', quantity: 120, idempotencyKey: 'big', now: at('2026-01-06T00:00:00Z') });
    expect(replay).toEqual({ ...first, replayed: true });
  });
});

describe('the ledger explorer', () => {
  it('every entry says what made it, and each filter narrows to exactly its entries', async () => {
    const { accountId, allowance, purchase } = await account('bim-premium-regional');
    await ledger.setUser({ accountId, userId: 'ann', role: 'member', creditsAllowed: true, now: JAN });
    const second = at('2026-01-05T08:38:18Z');
    const ann = await ledger.charge({ accountId, userId: 'ann', feature: 'promotion.product-week', variant: 'regional', quantity: 1, idempotencyKey: 'ann-promo', now: second });
    const bob = await ledger.charge({ accountId, userId: 'bob', feature: 'email.captured', quantity: 10, idempotencyKey: 'bob-emails', now: at('2026-01-05T08:38:18.600Z') });
    const hold = await ledger.reserve({ accountId, userId: 'bob', feature: 'email.captured', jobId: 'job-7', maxCredits: credits(20), idempotencyKey: 'job-7:hold', now: second });
    await ledger.chargeHold({ accountId, holdId: hold.holdId, quantity: 3, idempotencyKey: 'job-7:r1', now: at('2026-01-06T00:00:00Z') });
    await ledger.releaseHold({ accountId, holdId: hold.holdId, now: at('2026-01-07T00:00:00Z') });
    await ledger.refund({ accountId, chargeId: bob.chargeId, credits: credits(4), ...operator, idempotencyKey: 'refund-1', now: at('2026-01-08T00:00:00Z') });
    await ledger.adjust({ accountId, action: 'remove', grantId: purchase, credits: credits(5), ...operator, reason: 'duplicate purchase', idempotencyKey: 'adjust-1', now: at('2026-01-09T00:00:00Z') });
    await ledger.expireDue({ accountId, now: FEB });

    const all = await ledger.entries({ accountId, limit: 100 });
    const summary = all.map((entry) => [entry.kind, entry.cause.kind, entry.grantSource, entry.cause.reason]);
    expect(summary).toEqual([
      ['grant', 'grant', 'allowance', "the period's allowance"],
      ['grant', 'top_up', 'purchase', 'a top-up by admin'],
      ['charge', 'charge', 'allowance', '1 × promotion.product-week (regional) by ann'],
      ['charge', 'charge', 'allowance', '10 × email.captured by bob'],
      ['hold', 'hold', 'allowance', 'credits held for job job-7 (email.captured by bob)'],
      ['charge', 'hold_charge', 'allowance', `3 × email.captured by bob for job job-7 from hold ${hold.holdId}`],
      ['release', 'release', 'allowance', `hold ${hold.holdId} for job job-7 released what it had not spent`],
      ['refund', 'refund', 'allowance', 'ticket 4711'],
      ['adjust', 'adjustment', 'purchase', 'duplicate purchase'],
      ['expire', 'expiry', 'allowance', "the period's allowance expired"],
    ]);
    const byKind = (kind: string) => all.filter((entry) => entry.kind === kind);
    expect(byKind('charge')[0]?.cause).toMatchObject({ feature: 'promotion.product-week', variant: 'regional', userId: 'ann', quantity: 1, idempotencyKey: 'ann-promo', origin: 'client', jobId: null });
    expect(byKind('charge')[2]?.cause).toMatchObject({ kind: 'hold_charge', jobId: 'job-7', records: 3, idempotencyKey: 'job-7:r1' });
    expect(byKind('release')[0]).toMatchObject({ operationId: null, holdId: hold.holdId, cause: { jobId: 'job-7', feature: 'email.captured', userId: 'bob' } });
    expect(byKind('refund')[0]?.cause).toMatchObject({ refundOf: bob.chargeId, operator: 'jane@support', feature: 'email.captured', userId: 'bob' });
    expect(byKind('expire')[0]?.cause.period).toEqual({ start: JAN.toISOString(), end: FEB.toISOString() });

    const kinds = async (filter: Parameters<Ledger['entries']>[0]) => (await ledger.entries(filter)).map((entry) => `${entry.kind}:${entry.entryId}`);
    const ids = (predicate: (entry: (typeof all)[number]) => boolean) => all.filter(predicate).map((entry) => `${entry.kind}:${entry.entryId}`);
    expect(await kinds({ accountId, userId: 'ann' })).toEqual(ids((entry) => entry.cause.userId === 'ann'));
    expect(await kinds({ accountId, userId: 'ann' })).toHaveLength(1);
    expect(await kinds({ accountId, jobId: 'job-7' })).toEqual(ids((entry) => entry.cause.jobId === 'job-7'));
    expect(await kinds({ accountId, jobId: 'job-7' })).toHaveLength(3);
    expect(await kinds({ accountId, feature: 'email.captured', kind: 'charge' })).toHaveLength(2);
    expect(await kinds({ accountId, grantId: purchase })).toEqual(ids((entry) => entry.grantId === purchase));
    expect(await kinds({ accountId, operationId: ann.chargeId })).toEqual(ids((entry) => entry.operationId === ann.chargeId));
    expect(await kinds({ accountId, from: second, to: at('2026-01-05T08:38:19Z') })).toHaveLength(3);
    expect(await kinds({ accountId, kind: 'expire', grantId: allowance })).toHaveLength(1);
    // Paging gives the same entries as one read.
    const firstPage = await ledger.entries({ accountId, limit: 4 });
    const rest = await ledger.entries({ accountId, afterEntryId: firstPage.at(-1)?.entryId ?? 0, limit: 100 });
    expect([...firstPage, ...rest]).toEqual(all);
  });

  it('lists charges with their breakdown and refunds, and narrows them by the same filters', async () => {
    const { accountId, allowance, purchase } = await account();
    const instant = at('2026-01-05T08:38:18Z');
    const first = await ledger.charge({ accountId, userId: 'ann', feature: 'ai.variable', quantity: 20, idempotencyKey: 'a', now: instant });
    const second = await ledger.charge({ accountId, userId: 'bob', feature: 'ai.variable', quantity: 90, idempotencyKey: 'b', now: instant });
    await ledger.refund({ accountId, chargeId: second.chargeId, credits: credits(3), ...operator, idempotencyKey: 'r', now: instant });

    const charges = await ledger.charges({ accountId, from: instant, to: at('2026-01-05T08:38:19Z') });
    expect(charges).toEqual([
      expect.objectContaining({ chargeId: first.chargeId, userId: 'ann', quantity: 20, credits: credits(20), refunded: 0, idempotencyKey: 'a', grants: [{ grantId: allowance, source: 'allowance', credits: credits(20) }] }),
      expect.objectContaining({
        chargeId: second.chargeId,
        userId: 'bob',
        credits: credits(90),
        refunded: credits(3),
        grants: [
          { grantId: allowance, source: 'allowance', credits: credits(80) },
          { grantId: purchase, source: 'purchase', credits: credits(10) },
        ],
      }),
    ]);
    expect((await ledger.charges({ accountId, userId: 'bob' })).map((charge) => charge.chargeId)).toEqual([second.chargeId]);
    expect((await ledger.charges({ accountId, grantId: purchase })).map((charge) => charge.chargeId)).toEqual([second.chargeId]);
    expect((await ledger.charges({ accountId, chargeId: first.chargeId })).map((charge) => charge.chargeId)).toEqual([first.chargeId]);
    expect(await ledger.charges({ accountId, from: at('2026-01-05T08:38:19Z') })).toEqual([]);
    expect((await ledger.charges({ accountId, limit: 1, afterChargeId: Number(first.chargeId) })).map((charge) => charge.chargeId)).toEqual([second.chargeId]);
  });
});

describe('grants, whatever their status', () => {
  it('pending, active, spent, expired and revoked, with effectiveAt and what was written off', async () => {
    const { accountId, allowance, purchase } = await account();
    const next = await ledger.grant({ accountId, source: 'allowance', credits: credits(100), effectiveAt: FEB, expiresAt: MAR, idempotencyKey: 'next', now: JAN });
    const revoked = await ledger.grant({ accountId, source: 'promo', credits: credits(5), effectiveAt: FEB, expiresAt: MAR, idempotencyKey: 'promo', now: JAN });
    await ledger.revokePendingGrant({ accountId, grantId: revoked.grantId, now: at('2026-01-02T00:00:00Z') });
    await ledger.charge({ accountId, userId: 'ann', feature: 'ai.variable', quantity: 150, idempotencyKey: 'all', now: at('2026-01-03T00:00:00Z') });
    const short = await ledger.topUp({ accountId, userId: 'admin', credits: credits(8), expiresAt: at('2026-01-20T00:00:00Z'), idempotencyKey: 'short', now: at('2026-01-04T00:00:00Z') });
    await ledger.expireDue({ accountId, now: at('2026-01-21T00:00:00Z') });

    const now = at('2026-01-25T00:00:00Z');
    const grants = await ledger.listGrants({ accountId, now });
    expect(grants.map((grant) => [grant.grantId, grant.source, grant.status, grant.effectiveAt, grant.expired])).toEqual([
      [allowance, 'allowance', 'spent', JAN.toISOString(), 0],
      [purchase, 'purchase', 'spent', JAN.toISOString(), 0],
      [next.grantId, 'allowance', 'pending', FEB.toISOString(), 0],
      [revoked.grantId, 'promo', 'revoked', FEB.toISOString(), credits(5)],
      [short.grantId, 'purchase', 'expired', '2026-01-04T00:00:00.000Z', credits(8)],
    ]);
    expect((await ledger.listGrants({ accountId, now, status: 'spent' })).map((grant) => grant.grantId)).toEqual([allowance, purchase]);
    expect((await ledger.listGrants({ accountId, now, source: 'purchase', status: 'expired' })).map((grant) => grant.grantId)).toEqual([short.grantId]);
    expect((await ledger.listGrants({ accountId, now: FEB, status: 'active' })).map((grant) => grant.grantId)).toEqual([next.grantId]);
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM grants WHERE account_id = $1', [accountId]);
    expect(grants).toHaveLength(rows[0]?.n ?? -1);
  });
});
