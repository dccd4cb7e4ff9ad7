import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '../src/catalog/catalog.js';
import { isLedgerError } from '../src/ledger/errors.js';
import { createLedger, type Ledger } from '../src/ledger/ledger.js';
import { periodAt, periodByIndex } from '../src/periods/periods.js';
import { startAccount } from '../src/temporal/accounts.js';
import { credits, freshDatabase } from './support/database.js';
import { devServerEnvironment, eventually, runWorker, type RunningWorker } from './support/temporal.js';

/**
 * The time-skipping server stops skipping while a workflow task waits for a worker, so a worker
 * outage is tested on the dev server in real time, with 8-second periods: short enough to cross two
 * boundaries in seconds, long enough to stop the worker well inside the first period.
 */
const PERIOD_SECONDS = 8;
const catalog = parseCatalog({
  version: 1,
  features: { 'email.send': { name: 'Email', unitPrice: 1 } },
  plans: {
    'short-periods': { name: 'Short periods', features: ['email.send'], allowances: [{ credits: 250 }], period: { rule: 'duration', duration: `PT${PERIOD_SECONDS}S` } },
  },
});
const TASK_QUEUE = 'downtime';

let env: TestWorkflowEnvironment;
let ledger: Ledger;
let pool: pg.Pool;
let worker: RunningWorker | undefined;

beforeAll(async () => {
  ({ pool } = await freshDatabase());
  ledger = createLedger({ pool, catalog });
  env = await devServerEnvironment();
});

afterAll(async () => {
  await worker?.stop();
  await env.teardown();
  await pool.end();
});

interface AllowanceRow {
  effective_at: Date;
  expires_at: Date;
  amount: number;
  expired_at: Date | null;
}

async function allowances(accountId: string): Promise<AllowanceRow[]> {
  const { rows } = await pool.query<AllowanceRow>(
    "SELECT effective_at, expires_at, amount, expired_at FROM grants WHERE account_id = $1 AND source = 'allowance' ORDER BY effective_at",
    [accountId],
  );
  return rows;
}

async function waitUntil(instant: Date): Promise<void> {
  const wait = instant.getTime() - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}

async function refusal(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  if (!isLedgerError(error, 'INSUFFICIENT_CREDITS')) throw new Error(`expected INSUFFICIENT_CREDITS, got ${String(error)}`);
  return error.details;
}

describe('a worker that is down across period boundaries', () => {
  it('catches up with exactly the grants and expiries it missed, and nothing expired is spendable meanwhile', async () => {
    const accountId = 'downtime';
    const rule = catalog.plan('short-periods')?.period;
    if (!rule) throw new Error('plan missing');
    worker = await runWorker(env, TASK_QUEUE, { ledger, catalog, pool });
    const startAt = new Date();
    await startAccount(env.client, TASK_QUEUE, { accountId, planId: 'short-periods', seats: 1, timeZone: 'UTC', startAt: startAt.toISOString(), trial: false });
    const opened = await eventually(() => allowances(accountId), (rows) => rows.length === 2, 'the account opened');
    // Count periods from the one the account opened in (on a slow machine that may not be the anchor's).
    const first = periodAt(rule, startAt, 'UTC', opened[0]?.effective_at ?? startAt).index;
    const period = (index: number) => periodByIndex(rule, startAt, 'UTC', first + index);
    const soon = (index: number) => new Date(period(index).start.getTime() + 200);
    await ledger.setUser({ accountId, userId: 'admin', role: 'admin', creditsAllowed: true, now: startAt });
    await ledger.setUser({ accountId, userId: 'u', role: 'member', creditsAllowed: true, now: startAt });
    await ledger.topUp({ accountId, userId: 'admin', credits: credits(10), idempotencyKey: 'topup', now: startAt });
    await ledger.charge({ accountId, userId: 'u', feature: 'email.send', quantity: 200, idempotencyKey: 'period-0', now: period(0).start });

    await worker.stop();
    worker = undefined;
    expect(Date.now(), 'the worker must be down before the first boundary').toBeLessThan(period(1).start.getTime());

    // One boundary without a worker: the next allowance was written ahead, the old one is dead.
    const duringFirstGap = soon(1);
    await waitUntil(duringFirstGap);
    expect((await ledger.balance({ accountId, now: duringFirstGap })).bySource).toMatchObject({ allowance: credits(250), purchase: credits(10) });
    expect(await refusal(ledger.charge({ accountId, userId: 'u', feature: 'email.send', quantity: 261, idempotencyKey: 'gap-1-big', now: duringFirstGap }))).toMatchObject({
      needed: 261,
      available: 260,
    });
    await ledger.charge({ accountId, userId: 'u', feature: 'email.send', quantity: 5, idempotencyKey: 'gap-1', now: duringFirstGap });

    // A second boundary without a worker: period 1's allowance is dead too; only purchases remain.
    const duringSecondGap = soon(2);
    await waitUntil(duringSecondGap);
    expect((await ledger.balance({ accountId, now: duringSecondGap })).available).toBe(credits(10));
    expect(await refusal(ledger.charge({ accountId, userId: 'u', feature: 'email.send', quantity: 11, idempotencyKey: 'gap-2', now: duringSecondGap }))).toMatchObject({
      available: 10,
    });

    worker = await runWorker(env, TASK_QUEUE, { ledger, catalog, pool });
    const rows = await eventually(
      () => allowances(accountId),
      (found) => found.length >= 4 && found.filter((row) => row.expired_at !== null).length >= 2,
      'the workflow caught up',
    );
    // One allowance per period, each expired exactly at its own end, whatever time the worker came
    // back. (Real time goes on, so later periods may already have followed.)
    expect(rows.slice(0, 4).map((row) => [row.effective_at.toISOString(), row.expires_at.toISOString()])).toEqual(
      [0, 1, 2, 3].map((index) => [period(index).start.toISOString(), period(index).end.toISOString()]),
    );
    expect(rows.slice(0, 2).map((row) => row.expired_at?.toISOString())).toEqual([period(0).end.toISOString(), period(1).end.toISOString()]);
    const now = duringSecondGap;
    expect((await ledger.balance({ accountId, now })).bySource).toMatchObject({ allowance: credits(250), purchase: credits(10) });
    const usage = await ledger.usage({ accountId, from: period(0).start, to: now, groupBy: 'feature' });
    expect(usage).toEqual([{ key: 'email.send', credits: credits(205), refunded: 0, quantity: 205, charges: 2 }]);
    expect((await ledger.audit({ accountId })).problems).toEqual([]);
  });
});
