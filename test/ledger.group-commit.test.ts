/**
 * Charges are one database call each and are group-committed: a batch runs in one transaction, each
 * charge keeps its own key, arrival order and outcome, a refusal writes nothing for that charge and
 * leaves the others alone, and an unexpected error in a batch falls back to one charge at a time.
 * On a real PostgreSQL.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadCatalog } from '../src/catalog/catalog.js';
import { createJobStore } from '../src/jobs/jobs.js';
import { chargeItem, runChargeBatch, type BatchOutcome, type ChargeItem, type JobResultsItem } from '../src/ledger/charge-batch.js';
import { createGroupCommit } from '../src/ledger/group-commit.js';
import { chargeInput, parseInput } from '../src/ledger/inputs.js';
import { createLedger, type Ledger } from '../src/ledger/ledger.js';
import type { Micros } from '../src/money.js';
import { credits, freshDatabase } from './support/database.js';
import { records } from './support/jobs.js';

const catalog = loadCatalog();
let pool: pg.Pool;
let ledger: Ledger;

beforeAll(async () => {
  ({ pool } = await freshDatabase());
  ledger = createLedger({ pool, catalog });
});

afterAll(async () => {
  expect((await ledger.audit()).problems).toEqual([]);
  await pool.end();
});

const JAN = new Date('2026-01-01T00:00:00Z');
let sequence = 0;

async function account(options: { funds?: number; expiresAt?: Date } = {}): Promise<string> {
  const accountId = `gc-${++sequence}`;
  await ledger.createAccount({ accountId, planId: 'sales-email-pro', users: [{ userId: 'admin', role: 'admin' }, { userId: 'member', role: 'member' }, { userId: 'blocked', role: 'member', creditsAllowed: false }], now: JAN });
  if (options.funds !== undefined) {
    await ledger.grant({
      accountId,
      source: 'promo',
      credits: credits(options.funds),
      effectiveAt: JAN,
      ...(options.expiresAt ? { expiresAt: options.expiresAt } : {}),
      idempotencyKey: 'funding',
      now: JAN,
    });
  }
  return accountId;
}

const item = (accountId: string, overrides: { feature?: string; quantity?: number; userId?: string; key?: string; now?: Date } = {}): ChargeItem =>
  chargeItem(
    catalog,
    parseInput(chargeInput, {
      accountId,
      userId: overrides.userId ?? 'member',
      feature: overrides.feature ?? 'ai.variable',
      quantity: overrides.quantity ?? 1,
      idempotencyKey: overrides.key ?? `key-${++sequence}`,
      now: overrides.now ?? new Date('2026-01-02T00:00:00Z'),
    }),
  );

const available = async (accountId: string, now = new Date('2026-01-02T00:00:00Z')) => (await ledger.balance({ accountId, now })).available;
const codes = (outcomes: BatchOutcome[]) =>
  outcomes.map((outcome) => {
    if ('refused' in outcome) return outcome.refused;
    if ('stored' in outcome.ok) return 'stored';
    return outcome.ok.replayed ? 'replayed' : 'charged';
  });

describe('a batch of charges', () => {
  it('keeps each outcome its own: charged, 402, 403, a replay and a conflict in one transaction', async () => {
    const accountId = await account({ funds: 10 });
    const first = item(accountId, { quantity: 4, key: 'first' });
    const outcomes = await runChargeBatch(pool, catalog, [
      first,
      item(accountId, { quantity: 7 }), // 4 + 7 > 10: refused, and writes nothing
      item(accountId, { feature: 'call.minute' }), // not on the plan
      item(accountId, { userId: 'blocked' }),
      item(accountId, { userId: 'stranger' }),
      { ...first }, // the same key and request: a replay of the first
      item(accountId, { quantity: 5, key: 'first' }), // the same key, another request
      item(accountId, { quantity: 6 }), // fits in what is left after the first
    ]);
    expect(codes(outcomes)).toEqual(['charged', 'INSUFFICIENT_CREDITS', 'FEATURE_NOT_IN_PLAN', 'CREDITS_DISALLOWED', 'UNKNOWN_USER', 'replayed', 'IDEMPOTENCY_CONFLICT', 'charged']);
    expect(outcomes[1]).toEqual({ refused: 'INSUFFICIENT_CREDITS', details: { needed: credits(7), available: credits(6), feature: 'ai.variable' } });
    expect(outcomes[5]).toEqual({ ok: { ...(outcomes[0] as { ok: object }).ok, replayed: true } });
    expect(await available(accountId)).toBe(0);
    const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM operations WHERE account_id = $1 AND kind = 'charge'", [accountId]);
    expect(rows[0]?.n).toBe(2);
  });

  it('sees a grant expire between two charges of one batch', async () => {
    const expiresAt = new Date('2026-01-02T00:00:00.500Z');
    const accountId = await account({ funds: 10, expiresAt });
    const before = item(accountId, { quantity: 2, now: new Date('2026-01-02T00:00:00.100Z') });
    const after = item(accountId, { quantity: 2, now: new Date('2026-01-02T00:00:00.900Z') });
    expect(codes(await runChargeBatch(pool, catalog, [before, after]))).toEqual(['charged', 'INSUFFICIENT_CREDITS']);
  });

  it('draws each charge of a batch from what the charges before it left, across grants in spending order', async () => {
    const accountId = await account({ funds: 3, expiresAt: new Date('2026-02-01T00:00:00Z') });
    await ledger.grant({ accountId, source: 'promo', credits: credits(5), effectiveAt: JAN, idempotencyKey: 'second funding', now: JAN });
    const outcomes = await runChargeBatch(pool, catalog, [2, 2, 2, 3].map((quantity) => item(accountId, { quantity })));
    expect(codes(outcomes)).toEqual(['charged', 'charged', 'charged', 'INSUFFICIENT_CREDITS']);
    // The grant expiring first pays first: 3 then 5; each charge sees the ones before it in the batch.
    const draws = outcomes.slice(0, 3).map((outcome) => ('ok' in outcome && 'grants' in outcome.ok ? outcome.ok.grants.map((draw) => draw.credits) : []));
    expect(draws).toEqual([[credits(2)], [credits(1), credits(1)], [credits(2)]]);
    expect(outcomes.slice(0, 3).map((outcome) => ('ok' in outcome && 'balance' in outcome.ok ? outcome.ok.balance.available : undefined))).toEqual([credits(6), credits(4), credits(2)]);
    expect(outcomes[3]).toEqual({ refused: 'INSUFFICIENT_CREDITS', details: { needed: credits(3), available: credits(2), feature: 'ai.variable' } });
    expect(await available(accountId)).toBe(credits(2));
  });

  it('charges several accounts in one batch, whatever order they arrive in', async () => {
    const [a, b] = [await account({ funds: 3 }), await account({ funds: 3 })];
    const outcomes = await runChargeBatch(pool, catalog, [item(b), item(a), item(b), item(a, { quantity: 3 }), item(b)]);
    expect(codes(outcomes)).toEqual(['charged', 'charged', 'charged', 'INSUFFICIENT_CREDITS', 'charged']);
    expect([await available(a), await available(b)]).toEqual([credits(2), 0]);
  });

  it("runs a charge and a job's hold charge of one account in one batch, each with its own outcome", async () => {
    const accountId = await account({ funds: 30 });
    const jobs = createJobStore({ pool, ledger });
    const now = new Date('2026-01-02T00:00:00Z');
    await jobs.createJob({ accountId, jobId: `${accountId}-job`, feature: 'lead.email-finder', userId: 'member', idempotencyKey: 'job', records: records('r', 4), now });
    // The job holds 4 records at 5 credits: 20 of the 30; 10 are free for charges.
    expect((await jobs.begin(`${accountId}-job`, now)).credits).toMatchObject({ held: credits(20) });
    const flush: JobResultsItem = {
      kind: 'job_results',
      accountId,
      jobId: `${accountId}-job`,
      results: [
        { seq: 1, recordId: 'r-1', outcome: 'deliverable', data: { email: 'a@example.com' } },
        { seq: 2, recordId: 'r-2', outcome: 'not_found', data: null },
        { seq: 3, recordId: 'r-3', outcome: 'risky', data: null },
      ],
      chargeableOutcomes: ['deliverable', 'risky'],
      failedOutcome: 'failed',
      now: now.toISOString(),
    };
    const first = item(accountId, { quantity: 4 });
    const outcomes = await runChargeBatch(pool, catalog, [first, flush, item(accountId, { quantity: 7 }), { ...flush }, { ...first }, item(accountId, { quantity: 6 })]);
    // The flush charges its hold, not the free credits: the 402 is 4 + 7 > 10; the second flush finds
    // its records stored already and charges nothing; the replay answers the first charge.
    expect(codes(outcomes)).toEqual(['charged', 'stored', 'INSUFFICIENT_CREDITS', 'stored', 'replayed', 'charged']);
    expect(outcomes[1]).toEqual({ ok: { stored: 3, verified: 2, notFound: 1, failed: 0, credits: credits(10), unpaid: 0, cancelled: false } });
    expect(outcomes[3]).toEqual({ ok: { stored: 0, verified: 0, notFound: 0, failed: 0, credits: 0, unpaid: 0, cancelled: false } });
    expect(await available(accountId)).toBe(0);
    expect(await ledger.holdState({ accountId, holdId: (await jobs.getJob(`${accountId}-job`, now)).holdId ?? '', now })).toMatchObject({ held: credits(10), charged: credits(10) });
    expect((await jobs.results(`${accountId}-job`, 0, 10)).map((result) => [result.recordId, result.charged])).toEqual([
      ['r-1', credits(5)],
      ['r-2', 0],
      ['r-3', credits(5)],
    ]);
  });

  it('falls back to one charge at a time when a batch fails as a whole, so only the bad charge fails', async () => {
    const accountId = await account({ funds: 10 });
    const broken = { ...item(accountId), unitPrice: 'not a number' as unknown as Micros };
    const batches: number[] = [];
    const groupCommit = createGroupCommit(
      async (items: ChargeItem[]) => {
        batches.push(items.length);
        return runChargeBatch(pool, catalog, items);
      },
      { maxBatchItems: 16, maxBatchesInFlight: 1 },
    );
    const outcomes = await Promise.allSettled([item(accountId), item(accountId), broken, item(accountId), item(accountId)].map((charge) => groupCommit.submit(charge)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    // The first went alone (nothing was in flight); the other four formed one batch, which failed and was retried one by one.
    expect(batches).toEqual([1, 4, 1, 1, 1, 1]);
    expect(await available(accountId)).toBe(credits(6));
  });
});

describe('charges through the ledger', () => {
  it('a lone charge is one database round trip', async () => {
    const accountId = await account({ funds: 10 });
    const query = vi.spyOn(pool, 'query');
    try {
      await ledger.charge({ accountId, userId: 'member', feature: 'ai.variable', quantity: 1, idempotencyKey: 'alone', now: new Date('2026-01-02T00:00:00Z') });
      // One statement on the pool (no BEGIN, no COMMIT: it commits by itself).
      expect(query.mock.calls.map(([statement]) => statement)).toEqual([expect.objectContaining({ name: 'credits_charge_batch', text: 'SELECT credits_charge_batch($1::jsonb, $2::jsonb) AS outcomes' })]);
    } finally {
      query.mockRestore();
    }
  });

  it.each([
    ['one account', 1],
    ['100 accounts', 100],
  ])('64 concurrent callers on %s end at exact balances, each charge once', async (_, accounts) => {
    const accountIds = await Promise.all(Array.from({ length: accounts }, () => account({ funds: 20 })));
    const now = new Date('2026-01-02T00:00:00Z');
    // 20 charges per account fit, and 64 more than that are refused.
    const charges = Array.from({ length: accounts * 20 + 64 }, (_, index) => ({ accountId: accountIds[index % accounts] ?? '', key: `race-${accounts}-${index}` }));
    let next = 0;
    let charged = 0;
    const caller = async (): Promise<void> => {
      while (next < charges.length) {
        const charge = charges[next++];
        if (!charge) return;
        const result = await ledger.charge({ accountId: charge.accountId, userId: 'member', feature: 'ai.variable', quantity: 1, idempotencyKey: charge.key, now }).catch(() => null);
        if (result) charged++;
      }
    };
    await Promise.all(Array.from({ length: 64 }, caller));
    // Each account can pay for 20 charges of 1: every one beyond is refused, none is lost.
    expect(charged).toBe(accounts * 20);
    for (const accountId of accountIds) expect(await available(accountId)).toBe(0);
    const replays = await Promise.all(charges.slice(0, 64).map((charge) => ledger.charge({ accountId: charge.accountId, userId: 'member', feature: 'ai.variable', quantity: 1, idempotencyKey: charge.key, now }).catch(() => null)));
    expect(replays.filter((replay) => replay !== null).every((replay) => replay.replayed)).toBe(true);
    expect((await ledger.audit()).problems).toEqual([]);
  });
});
