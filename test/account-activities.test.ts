/**
 * The account workflow's ledger steps, called as its worker calls them: opening an account writes
 * its first two periods in one transaction, and crossing a boundary expires what ended and writes
 * the next period ahead in another, each in a fixed, small number of database round trips.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAccountActivities } from '../activities/account-activities.js';
import { loadCatalog } from '../src/catalog/catalog.js';
import type { Ledger } from '../src/ledger/ledger.js';
import { credits, freshLedger } from './support/database.js';

let ledger: Ledger;
let pool: pg.Pool;
let activities: ReturnType<typeof createAccountActivities>;

beforeAll(async () => {
  ({ ledger, pool } = await freshLedger());
  activities = createAccountActivities({ ledger, catalog: loadCatalog(), pool });
});
afterAll(async () => {
  await pool.end();
});

/** What each statement sent to PostgreSQL during `work` was: its prepared name, or its first words. */
async function statementsOf(work: () => Promise<unknown>): Promise<string[]> {
  const query = vi.spyOn(pg.Client.prototype, 'query');
  try {
    await work();
    return query.mock.calls.map(([statement]) => {
      if (typeof statement === 'string') return statement.split(/\s+/).slice(0, 2).join(' ');
      const { name, text } = statement as { name?: string; text: string };
      return name ?? text.split(/\s+/).slice(0, 2).join(' ');
    });
  } finally {
    query.mockRestore();
  }
}

async function allowanceGrants(accountId: string): Promise<{ effective_at: Date; amount: string; expired_at: Date | null }[]> {
  const { rows } = await pool.query<{ effective_at: Date; amount: string; expired_at: Date | null }>(
    `SELECT effective_at, amount::text, expired_at FROM grants WHERE account_id = $1 AND source = 'allowance' ORDER BY effective_at`,
    [accountId],
  );
  return rows;
}

async function renewedPeriods(accountId: string): Promise<string[]> {
  const { rows } = await pool.query<{ start: string }>(
    `SELECT payload->>'periodStart' AS start FROM domain_events WHERE account_id = $1 AND event_type = 'period.renewed' ORDER BY event_id`,
    [accountId],
  );
  return rows.map((row) => row.start);
}

describe('the account workflow\'s ledger steps', () => {
  const startAt = '2026-12-01T00:00:00.000Z';
  const input = { accountId: 'steps', planId: 'sales-email-pro', seats: 1, timeZone: 'UTC', startAt, trial: false, now: '2026-12-01T10:00:00.000Z' };

  it('opening writes the first period and the next one ahead in one transaction of seven statements', async () => {
    let opened: Awaited<ReturnType<typeof activities.openPeriods>> | undefined;
    const statements = await statementsOf(async () => {
      opened = await activities.openPeriods(input);
    });
    expect(statements).toEqual([
      'BEGIN',
      'credits_activate_account',
      'credits_contract_at',
      'credits_write_allowance',
      'credits_contract_at',
      'credits_write_allowance',
      'COMMIT',
    ]);
    expect(opened?.period).toMatchObject({ start: startAt, end: '2027-01-01T00:00:00.000Z' });
    expect(opened?.next?.period).toMatchObject({ start: '2027-01-01T00:00:00.000Z', end: '2027-02-01T00:00:00.000Z' });
    const grants = await allowanceGrants('steps');
    expect(grants.map((grant) => [grant.effective_at.toISOString(), grant.amount])).toEqual([
      [startAt, String(credits(1000))],
      ['2027-01-01T00:00:00.000Z', String(credits(1000))],
    ]);
    // The period under way is renewed now; the one written ahead at its boundary.
    expect(await renewedPeriods('steps')).toEqual([startAt]);

    // Run again (a retried local activity, another run): nothing new.
    const again = await activities.openPeriods(input);
    expect(again.next?.grantIds).toEqual(opened?.next?.grantIds);
    expect(await allowanceGrants('steps')).toHaveLength(2);
    expect(await renewedPeriods('steps')).toEqual([startAt]);
    expect((await ledger.audit()).problems).toEqual([]);
  });

  it('a boundary expires what ended and writes the period after the next ahead in one transaction of seven statements', async () => {
    const opened = await activities.openPeriods(input);
    if (!opened.next) throw new Error('the account has no period written ahead');
    const boundary = opened.next.period.start;
    const crossing = { accountId: 'steps', subscription: startAt, timeZone: 'UTC', boundary, plan: opened.plan, entering: opened.next, revision: 0, now: boundary };
    const statements = await statementsOf(() => activities.crossBoundary(crossing));
    expect(statements).toEqual([
      'BEGIN',
      'credits_expire',
      'credits_append_event',
      'credits_period_renewed',
      'credits_contract_at',
      'credits_write_allowance',
      'COMMIT',
    ]);
    const grants = await allowanceGrants('steps');
    expect(grants.map((grant) => [grant.effective_at.toISOString(), grant.expired_at !== null])).toEqual([
      [startAt, true],
      [boundary, false],
      ['2027-02-01T00:00:00.000Z', false],
    ]);
    expect(await renewedPeriods('steps')).toEqual([startAt, boundary]);

    await activities.crossBoundary(crossing);
    expect(await allowanceGrants('steps')).toHaveLength(3);
    expect(await renewedPeriods('steps')).toEqual([startAt, boundary]);
    expect((await ledger.audit()).problems).toEqual([]);
  });

  it('a period whose written-ahead allowance was revoked is written again under the next free revision, in one more call', async () => {
    const now = '2026-12-01T10:00:00.000Z';
    const period = { start: '2027-01-01T00:00:00.000Z', end: '2027-02-01T00:00:00.000Z' };
    await ledger.createAccount({ accountId: 'rewritten', planId: 'sales-email-pro', seats: 1, timeZone: 'UTC', now: new Date(now) });
    const terms = await activities.planTerms({ planId: 'sales-email-pro', seats: 1, accountId: 'rewritten', at: now });
    const request = { accountId: 'rewritten', subscription: now, terms, period, revision: 0, now };
    const first = await activities.grantAllowance(request);
    await activities.revokeGrants({ accountId: 'rewritten', grantIds: first, now });

    // The same revision again (a re-created workflow starts its revisions over): r0 is taken.
    const statements = await statementsOf(async () => {
      const second = await activities.grantAllowance(request);
      expect(second).toHaveLength(1);
      expect(second).not.toEqual(first);
    });
    expect(statements).toEqual(['BEGIN', 'credits_write_allowance', 'credits_write_allowance', 'COMMIT']);
    const { rows } = await pool.query<{ key: string; revoked: boolean }>(
      `SELECT o.idempotency_key AS key, grant_revoked(g.expired_at, g.effective_at) AS revoked
         FROM grants g JOIN operations o USING (operation_id) WHERE g.account_id = 'rewritten' ORDER BY g.grant_id`,
    );
    expect(rows).toEqual([
      { key: `allowance:${period.start}:r0:0`, revoked: true },
      { key: `allowance:${period.start}:r1:0`, revoked: false },
    ]);
    // A period written ahead is renewed at its boundary, not now.
    expect(await renewedPeriods('rewritten')).toEqual([]);
    expect((await ledger.audit()).problems).toEqual([]);
  });
});
