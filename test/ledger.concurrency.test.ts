import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLedgerError } from '../src/ledger/errors.js';
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

const CHARGERS = 60;

async function accountWith(accountId: string, allowance: number, purchased: number, now: Date): Promise<void> {
  // The chargers' users are registered by their first spend, concurrently.
  await ledger.createAccount({ accountId, planId: 'sales-email-pro', users: [{ userId: 'admin', role: 'admin' }], unknownUsers: 'register', now });
  await ledger.grant({
    accountId, source: 'allowance', credits: credits(allowance),
    effectiveAt: now, expiresAt: new Date(now.getTime() + 30 * 86_400_000), idempotencyKey: `${accountId}:allowance`, now,
  });
  await ledger.topUp({ accountId, userId: 'admin', credits: credits(purchased), idempotencyKey: `${accountId}:topup`, now });
}

/** Fires every charge at once and sorts the outcomes; anything but success or INSUFFICIENT_CREDITS fails the test. */
async function chargeConcurrently(accountId: string, amounts: readonly number[], now: Date) {
  const outcomes = await Promise.allSettled(
    amounts.map((quantity, index) =>
      ledger.charge({ accountId, userId: `user-${index % 7}`, feature: 'ai.variable', quantity, idempotencyKey: `c-${index}`, now }),
    ),
  );
  const succeeded: number[] = [];
  let refused = 0;
  for (const outcome of outcomes) {
    if (outcome.status === 'fulfilled') succeeded.push(outcome.value.credits);
    else if (isLedgerError(outcome.reason, 'INSUFFICIENT_CREDITS')) refused++;
    else throw outcome.reason;
  }
  return { succeeded, refused };
}

describe(`${CHARGERS} concurrent chargers on one account`, () => {
  it('never overdraw: the balance ends at exactly what is left, spent equals the successful charges', async () => {
    const now = new Date('2026-03-01T12:00:00Z');
    await accountWith('hot-uneven', 70, 30, now);
    // Demand 60 × 7 = 420 credits against 100: at most 14 charges fit, leaving 2.
    const { succeeded, refused } = await chargeConcurrently('hot-uneven', Array.from({ length: CHARGERS }, () => 7), now);
    const spent = succeeded.reduce((sum, value) => sum + value, 0);
    expect(succeeded).toHaveLength(14);
    expect(refused).toBe(CHARGERS - 14);
    expect(spent).toBe(credits(98));
    const balance = await ledger.balance({ accountId: 'hot-uneven', now });
    expect(balance.available).toBe(credits(2));
    expect(balance.grants.every((grant) => grant.remaining >= 0)).toBe(true);
    const usage = await ledger.usage({ accountId: 'hot-uneven', from: new Date('2026-03-01T00:00:00Z'), to: new Date('2026-03-02T00:00:00Z'), groupBy: 'feature' });
    expect(usage).toEqual([{ key: 'ai.variable', credits: spent, refunded: 0, quantity: 14 * 7, charges: 14 }]);
    expect((await ledger.audit({ accountId: 'hot-uneven' })).problems).toEqual([]);
  });

  it('spend a divisible balance to exactly zero, mixed sizes and replays included', async () => {
    const now = new Date('2026-03-01T12:00:00Z');
    await accountWith('hot-exact', 40, 20, now);
    const amounts = Array.from({ length: CHARGERS }, (_, index) => 1 + (index % 3));
    const { succeeded } = await chargeConcurrently('hot-exact', amounts, now);
    // Replaying every charge concurrently changes nothing.
    const replays = await Promise.all(
      amounts.map((quantity, index) =>
        ledger
          .charge({ accountId: 'hot-exact', userId: `user-${index % 7}`, feature: 'ai.variable', quantity, idempotencyKey: `c-${index}`, now })
          .then((result) => result.replayed, (error: unknown) => isLedgerError(error, 'INSUFFICIENT_CREDITS')),
      ),
    );
    expect(replays.every(Boolean)).toBe(true);
    const spent = succeeded.reduce((sum, value) => sum + value, 0);
    const balance = await ledger.balance({ accountId: 'hot-exact', now });
    expect(spent + balance.available).toBe(credits(60));
    // Every charge is 1-3 credits and 120 are demanded, so the last credits always find a taker.
    expect(balance.available).toBeLessThan(credits(1));
    expect(balance.available).toBe(0);
    expect((await ledger.audit({ accountId: 'hot-exact' })).problems).toEqual([]);
  });
});
