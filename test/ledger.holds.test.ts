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
  expect((await ledger.audit()).problems).toEqual([]);
  await pool.end();
});

const at = (iso: string) => new Date(iso);
let sequence = 0;

async function expectCode(promise: Promise<unknown>, code: LedgerErrorCode): Promise<Record<string, unknown>> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  if (!isLedgerError(error)) throw new Error(`expected LedgerError ${code}, got ${String(error)}`);
  expect(error.code).toBe(code);
  return { ...error.details };
}

/** An account on the sales plan with a January allowance of `allowance` and `purchased` top-up credits. */
async function fundedAccount(allowance: number, purchased: number) {
  const accountId = `hold-acct-${++sequence}`;
  const now = at('2026-01-01T00:00:00Z');
  await ledger.createAccount({ accountId, planId: 'sales-email-pro', users: [{ userId: 'admin', role: 'admin' }, { userId: 'sdr', role: 'member' }], now });
  if (allowance > 0) {
    await ledger.grant({
      accountId, source: 'allowance', credits: credits(allowance),
      effectiveAt: now, expiresAt: at('2026-02-01T00:00:00Z'), idempotencyKey: `${accountId}:2026-01-01`, now,
    });
  }
  if (purchased > 0) await ledger.topUp({ accountId, userId: 'admin', credits: credits(purchased), idempotencyKey: `${accountId}:topup`, now });
  return accountId;
}

describe('holds', () => {
  it('reserve, charge per record, extend, and release what was not used', async () => {
    const accountId = await fundedAccount(100, 0);
    const now = at('2026-01-10T00:00:00Z');
    const hold = await ledger.reserve({ accountId, userId: 'sdr', feature: 'lead.email-finder', jobId: 'job-1', maxCredits: credits(50), idempotencyKey: 'job-1:hold', now });
    expect(hold.reserved).toBe(credits(50));
    let balance = await ledger.balance({ accountId, now });
    expect(balance).toMatchObject({ available: credits(50), held: credits(50) });
    // Charging others cannot use held credits.
    await expectCode(
      ledger.charge({ accountId, userId: 'sdr', feature: 'ai.variable', quantity: 51, idempotencyKey: 'direct-1', now }),
      'INSUFFICIENT_CREDITS',
    );

    for (let record = 1; record <= 10; record++) {
      await ledger.chargeHold({ accountId, holdId: hold.holdId, idempotencyKey: `job-1:r${record}`, now });
    }
    const exhausted = await expectCode(
      ledger.chargeHold({ accountId, holdId: hold.holdId, idempotencyKey: 'job-1:r11', now }),
      'INSUFFICIENT_CREDITS',
    );
    expect(exhausted).toMatchObject({ needed: 5, available: 0, holdId: hold.holdId });

    const extended = await ledger.extendHold({ accountId, holdId: hold.holdId, maxCredits: credits(500), idempotencyKey: 'job-1:extend-1', now });
    expect(extended.reserved).toBe(credits(50));
    await ledger.chargeHold({ accountId, holdId: hold.holdId, idempotencyKey: 'job-1:r11', now });

    const released = await ledger.releaseHold({ accountId, holdId: hold.holdId, now });
    expect(released).toMatchObject({ status: 'released', held: 0, reserved: credits(100), charged: credits(55), released: credits(45) });
    expect(await ledger.releaseHold({ accountId, holdId: hold.holdId, now: at('2026-01-11T00:00:00Z') })).toEqual(released);
    balance = await ledger.balance({ accountId, now });
    expect(balance).toMatchObject({ available: credits(45), held: 0 });
    await expectCode(ledger.chargeHold({ accountId, holdId: hold.holdId, idempotencyKey: 'job-1:r12', now }), 'HOLD_RELEASED');
    await expectCode(ledger.extendHold({ accountId, holdId: hold.holdId, maxCredits: credits(5), idempotencyKey: 'job-1:extend-2', now }), 'HOLD_RELEASED');
  });

  it('reserves what there is when the balance covers less, or nothing', async () => {
    const accountId = await fundedAccount(0, 12);
    const now = at('2026-01-10T00:00:00Z');
    const partial = await ledger.reserve({ accountId, userId: 'sdr', feature: 'lead.email-finder', maxCredits: credits(1000), idempotencyKey: 'partial', now });
    expect(partial.reserved).toBe(credits(12));
    const empty = await ledger.reserve({ accountId, userId: 'sdr', feature: 'lead.email-finder', maxCredits: credits(5), idempotencyKey: 'empty', now });
    expect(empty.reserved).toBe(0);
    await ledger.releaseHold({ accountId, holdId: partial.holdId, now });
    await ledger.releaseHold({ accountId, holdId: empty.holdId, now });
  });

  it('charges a replayed hold charge once', async () => {
    const accountId = await fundedAccount(0, 20);
    const now = at('2026-01-10T00:00:00Z');
    const hold = await ledger.reserve({ accountId, userId: 'sdr', feature: 'lead.email-finder', jobId: 'job-2', maxCredits: credits(20), idempotencyKey: 'job-2:hold', now });
    expect((await ledger.reserve({ accountId, userId: 'sdr', feature: 'lead.email-finder', jobId: 'job-2', maxCredits: credits(20), idempotencyKey: 'job-2:hold', now })).holdId).toBe(hold.holdId);
    const first = await ledger.chargeHold({ accountId, holdId: hold.holdId, idempotencyKey: 'job-2:lead-7', now });
    const again = await ledger.chargeHold({ accountId, holdId: hold.holdId, idempotencyKey: 'job-2:lead-7', now: at('2026-01-10T00:01:00Z') });
    expect(again).toEqual({ ...first, replayed: true });
    expect(await ledger.holdState({ accountId, holdId: hold.holdId, now })).toMatchObject({ held: credits(15), charged: credits(5) });
    await expectCode(ledger.chargeHold({ accountId, holdId: hold.holdId, quantity: 2, idempotencyKey: 'job-2:lead-7', now }), 'IDEMPOTENCY_CONFLICT');
    const released = await ledger.releaseHold({ accountId, holdId: hold.holdId, now });
    // A replay after release still answers with the first result instead of an error.
    expect((await ledger.chargeHold({ accountId, holdId: hold.holdId, idempotencyKey: 'job-2:lead-7', now })).replayed).toBe(true);
    expect(released.charged).toBe(credits(5));
    await expectCode(ledger.chargeHold({ accountId, holdId: '999999', idempotencyKey: 'x', now }), 'UNKNOWN_HOLD');
  });

  it('loses an earmark on allowance when the allowance expires, and keeps the purchased one', async () => {
    const accountId = await fundedAccount(30, 10);
    const hold = await ledger.reserve({ accountId, userId: 'sdr', feature: 'lead.email-finder', jobId: 'job-3', maxCredits: credits(40), idempotencyKey: 'job-3:hold', now: at('2026-01-31T00:00:00Z') });
    expect(hold.reserved).toBe(credits(40));
    await ledger.chargeHold({ accountId, holdId: hold.holdId, idempotencyKey: 'job-3:r1', now: at('2026-01-31T12:00:00Z') });

    // At the boundary the allowance earmark is gone, even before anything expires the grant.
    const boundary = at('2026-02-01T00:00:00Z');
    expect(await ledger.holdState({ accountId, holdId: hold.holdId, now: boundary })).toMatchObject({ held: credits(10), charged: credits(5) });
    await ledger.chargeHold({ accountId, holdId: hold.holdId, idempotencyKey: 'job-3:r2', now: boundary });
    await ledger.chargeHold({ accountId, holdId: hold.holdId, idempotencyKey: 'job-3:r3', now: boundary });
    const details = await expectCode(ledger.chargeHold({ accountId, holdId: hold.holdId, idempotencyKey: 'job-3:r4', now: boundary }), 'INSUFFICIENT_CREDITS');
    expect(details).toMatchObject({ needed: 5, available: 0 });

    const expired = await ledger.expireDue({ accountId, now: boundary });
    expect(expired).toEqual([expect.objectContaining({ expired: credits(25) })]);
    expect(await ledger.holdState({ accountId, holdId: hold.holdId, now: boundary })).toMatchObject({ held: 0, expired: credits(25) });
    const released = await ledger.releaseHold({ accountId, holdId: hold.holdId, now: boundary });
    expect(released).toMatchObject({ reserved: credits(40), charged: credits(15), expired: credits(25), released: 0 });
    expect(await ledger.balance({ accountId, now: boundary })).toMatchObject({ available: 0, held: 0 });
  });
});

describe('the database itself', () => {
  it('refuses to spend a grant past its expiry even from raw SQL', async () => {
    const accountId = await fundedAccount(10, 0);
    const { rows } = await pool.query<{ grant_id: string; operation_id: string }>(
      'SELECT grant_id::text, operation_id::text FROM grants WHERE account_id = $1',
      [accountId],
    );
    const grant = rows[0];
    await expect(
      pool.query(
        `INSERT INTO ledger_entries (account_id, operation_id, grant_id, kind, amount, held_change, occurred_at)
         VALUES ($1, $2, $3, 'charge', -1, 0, '2026-02-01T00:00:00Z')`,
        [accountId, grant?.operation_id, grant?.grant_id],
      ),
    ).rejects.toThrow(/not spendable/);
    await expect(
      pool.query(
        `INSERT INTO ledger_entries (account_id, operation_id, grant_id, kind, amount, held_change, occurred_at)
         VALUES ($1, $2, $3, 'charge', -11000000, 0, '2026-01-05T00:00:00Z')`,
        [accountId, grant?.operation_id, grant?.grant_id],
      ),
    ).rejects.toThrow(/grants_remaining_check|check constraint/);
    await expect(pool.query('UPDATE ledger_entries SET amount = amount * 2 WHERE account_id = $1', [accountId])).rejects.toThrow(/append-only/);
    await expect(pool.query('DELETE FROM ledger_entries WHERE account_id = $1', [accountId])).rejects.toThrow(/append-only/);
  });

  it('refuses an entry of the wrong shape or of an unknown kind from raw SQL, and writes nothing', async () => {
    const accountId = await fundedAccount(10, 0);
    const { rows } = await pool.query<{ grant_id: string; operation_id: string }>('SELECT grant_id::text, operation_id::text FROM grants WHERE account_id = $1', [accountId]);
    const entry = (kind: string, amount: number, heldChange: number) =>
      pool.query(
        `INSERT INTO ledger_entries (account_id, operation_id, grant_id, kind, amount, held_change, occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6, '2026-01-05T00:00:00Z')`,
        [accountId, rows[0]?.operation_id, rows[0]?.grant_id, kind, amount, heldChange],
      );
    await expect(entry('charge', 1_000_000, 0)).rejects.toThrow(/ledger_entries_shape/); // a charge that adds credits
    await expect(entry('charge', -1_000_000, -1_000_000)).rejects.toThrow(/ledger_entries_shape/); // held change without a hold
    await expect(entry('grant', 1_000_000, 5)).rejects.toThrow(/ledger_entries_shape/);
    await expect(entry('gift', 1_000_000, 0)).rejects.toThrow(/ledger_entries_shape/);
    expect(await ledger.balance({ accountId, now: new Date('2026-01-05T00:00:00Z') })).toMatchObject({ available: credits(10) });
  });
});
