import { WorkflowUpdateFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { isLedgerError } from '../src/ledger/errors.js';
import { startAccount, type StartAccountInput } from '../src/temporal/accounts.js';
import type { accountWorkflow } from '../workflows/account.js';
import { accountStateQuery, accountWorkflowId, cancelUpdate, changePlanUpdate, type OpenAccountView } from '../workflows/account-messages.js';
import { credits } from './support/database.js';
import { recordHistories } from './support/histories.js';
import { eventually, useWorkerStack } from './support/temporal.js';

const TASK_QUEUE = 'lifecycle';

const stack = useWorkerStack({ server: 'time-skipping', taskQueue: TASK_QUEUE });

interface GrantRow {
  source: string;
  amount: number;
  effective_at: Date;
  expires_at: Date | null;
  expired_at: Date | null;
  features: string[] | null;
}

async function grants(accountId: string, source = 'allowance'): Promise<GrantRow[]> {
  const { rows } = await stack().pool.query<GrantRow>(
    'SELECT source, amount, effective_at, expires_at, expired_at, features FROM grants WHERE account_id = $1 AND source = $2 ORDER BY grant_id',
    [accountId, source],
  );
  return rows;
}

const handle = (accountId: string) => stack().env.client.workflow.getHandle<typeof accountWorkflow>(accountWorkflowId(accountId));
async function view(accountId: string): Promise<OpenAccountView> {
  const state = await handle(accountId).query(accountStateQuery);
  if (state.status === 'opening') throw new Error(`${accountId} is still opening`);
  return state;
}

/** Starts an account at the test server's current time and waits until it has its allowance written ahead. */
async function open(accountId: string, planId: string, options: Partial<StartAccountInput> = {}): Promise<OpenAccountView> {
  const { env, ledger } = stack();
  const startAt = new Date(await env.currentTimeMs()).toISOString();
  await startAccount(env.client, TASK_QUEUE, { accountId, planId, seats: 1, timeZone: 'UTC', startAt, trial: false, ...options });
  await eventually(() => grants(accountId), (rows) => rows.length >= 2, `${accountId} opened`);
  // The workflow says it is open once it has recorded both grants.
  const opened = await eventually(() => handle(accountId).query(accountStateQuery), (state) => state.status !== 'opening', `${accountId} open`).then(() => view(accountId));
  await ledger.setUser({ accountId, userId: 'admin', role: 'admin', creditsAllowed: true, now: new Date(startAt) });
  await ledger.setUser({ accountId, userId: 'u', role: 'member', creditsAllowed: true, now: new Date(startAt) });
  return opened;
}

/**
 * Waits on the ledger until the account has entered the period starting at `boundary` and written
 * the following one ahead. Queries sent while a run is continuing-as-new can stall on the
 * time-skipping server, so tests query only once the workflow is idle on its timer.
 */
async function settledAfter(accountId: string, boundary: Date): Promise<void> {
  await eventually(
    () => grants(accountId),
    (rows) => rows.some((row) => row.expired_at === null && row.effective_at > boundary),
    `${accountId} settled after ${boundary.toISOString()}`,
  );
}

async function skipPast(instant: string): Promise<void> {
  const { env } = stack();
  const skip = new Date(instant).getTime() - (await env.currentTimeMs()) + 1;
  if (skip > 0) await env.sleep(skip);
}

async function failureOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  if (!(error instanceof WorkflowUpdateFailedError)) throw new Error(`expected the update to fail, got ${String(error)}`);
  return `${error.message}: ${error.cause?.message ?? ''}`;
}

describe('account workflow', () => {
  it('is started once however often the start is repeated', async () => {
    const { env } = stack();
    const accountId = 'repeat-start';
    const first = await open(accountId, 'bim-premium-regional');
    const again = await startAccount(env.client, TASK_QUEUE, { accountId, planId: 'bim-premium-regional', seats: 1, timeZone: 'UTC', startAt: first.period.start, trial: false });
    const description = await again.describe();
    expect(description.runId).toBe((await handle(accountId).describe()).runId);
    expect(await grants(accountId)).toHaveLength(2);
    expect(await description.staticSummary()).toContain(accountId);
    await recordHistories(env.client, accountWorkflowId(accountId), 'repeat-start');
  });

  it('upgrades seats now: the difference for this period, the new allowance from the next', async () => {
    const { env, ledger } = stack();
    const accountId = 'upgrade-seats';
    const opened = await open(accountId, 'sales-email-pro');
    const midPeriod = new Date(await env.currentTimeMs());
    await ledger.charge({ accountId, userId: 'u', feature: 'ai.variable', quantity: 400, idempotencyKey: 'before-upgrade', now: midPeriod });
    const result = await handle(accountId).executeUpdate(changePlanUpdate, { args: [{ planId: 'sales-email-pro', seats: 3 }] });
    expect(result).toMatchObject({ effective: 'now', seats: 3, grantedNow: credits(2000) });
    const balance = await ledger.balance({ accountId, now: new Date(await env.currentTimeMs()) });
    expect(balance.available).toBe(credits(2600));
    expect(balance.seats).toBe(3);
    const rows = await grants(accountId);
    // Initial allowance, the next period's (revoked: written for 1 seat), the upgrade, the next period's for 3 seats.
    expect(rows.map((row) => [row.amount, row.expired_at === null])).toEqual([
      [credits(1000), true],
      [credits(1000), false],
      [credits(2000), true],
      [credits(3000), true],
    ]);
    expect(rows[2]?.expires_at?.toISOString()).toBe(opened.period.end);

    await skipPast(opened.period.end);
    await settledAfter(accountId, new Date(opened.period.end));
    const after = await ledger.balance({ accountId, now: new Date(opened.period.end) });
    expect(after.available).toBe(credits(3000));
    expect((await view(accountId)).seats).toBe(3);
    await recordHistories(env.client, accountWorkflowId(accountId), 'upgrade-seats');
  });

  it('downgrades from the next period, keeping this period and its features', async () => {
    const { env, ledger } = stack();
    const accountId = 'downgrade';
    const opened = await open(accountId, 'sales-multichannel-expert', { seats: 2 });
    const result = await handle(accountId).executeUpdate(changePlanUpdate, { args: [{ planId: 'sales-email-pro', seats: 1 }] });
    expect(result).toMatchObject({ effective: 'next_period', effectiveAt: opened.period.end, grantedNow: 0 });
    expect((await view(accountId)).nextPlan).toEqual({ planId: 'sales-email-pro', seats: 1 });
    const now = new Date(await env.currentTimeMs());
    const calls = await ledger.charge({ accountId, userId: 'u', feature: 'call.minute', quantity: 10, idempotencyKey: 'call-before', now });
    expect(calls.credits).toBe(credits(40));
    expect((await ledger.balance({ accountId, now })).bySource.allowance).toBe(credits(3000 + 400 - 40));

    await skipPast(opened.period.end);
    const boundary = new Date(opened.period.end);
    await settledAfter(accountId, boundary);
    const next = await ledger.balance({ accountId, now: boundary });
    expect(next.planId).toBe('sales-email-pro');
    expect(next.bySource.allowance).toBe(credits(1000));
    expect(next.grants.every((grant) => grant.features === null)).toBe(true);
    const refused = await ledger
      .charge({ accountId, userId: 'u', feature: 'call.minute', quantity: 1, idempotencyKey: 'call-after', now: boundary })
      .catch((error: unknown) => error);
    expect(isLedgerError(refused, 'FEATURE_NOT_IN_PLAN')).toBe(true);
    expect(await view(accountId)).toMatchObject({ planId: 'sales-email-pro', seats: 1, nextPlan: null });
    await recordHistories(env.client, accountWorkflowId(accountId), 'downgrade');
  });

  it('runs plan changes sent at once one after the other: the next period is written ahead once, for the last', async () => {
    const { ledger } = stack();
    const accountId = 'changes-at-once';
    const opened = await open(accountId, 'sales-multichannel-expert', { seats: 2 });
    const changes = [1, 2, 3].map((seats) => handle(accountId).executeUpdate(changePlanUpdate, { args: [{ planId: 'sales-email-pro', seats }] }));
    const results = await Promise.all(changes);
    expect(results.map((result) => result.effective)).toEqual(['next_period', 'next_period', 'next_period']);
    const nextPlan = (await view(accountId)).nextPlan;
    const ahead = (await grants(accountId)).filter((row) => row.expired_at === null && row.effective_at.toISOString() === opened.period.end);
    // One written-ahead allowance, the one the account says comes next; every earlier one revoked.
    expect(ahead.map((row) => row.amount)).toEqual([credits(1000 * (nextPlan?.seats ?? 0))]);

    await skipPast(opened.period.end);
    await settledAfter(accountId, new Date(opened.period.end));
    const next = await ledger.balance({ accountId, now: new Date(opened.period.end) });
    expect(next).toMatchObject({ planId: 'sales-email-pro', seats: nextPlan?.seats, bySource: { allowance: credits(1000 * (nextPlan?.seats ?? 0)) } });
  });

  it('cancels at period end: no more allowance, purchased credits stay usable', async () => {
    const { env, ledger } = stack();
    const accountId = 'cancel';
    const opened = await open(accountId, 'sales-email-pro');
    const startedAt = new Date(opened.period.start);
    await ledger.topUp({ accountId, userId: 'admin', credits: credits(30), idempotencyKey: 'topup', now: new Date(await env.currentTimeMs()) });
    const cancelled = await handle(accountId).executeUpdate(cancelUpdate);
    expect(cancelled).toEqual({ status: 'cancelling', endsAt: opened.period.end });
    expect(await failureOf(handle(accountId).executeUpdate(changePlanUpdate, { args: [{ planId: 'sales-email-pro', seats: 2 }] }))).toContain('cancelling');
    expect(await failureOf(handle(accountId).executeUpdate(cancelUpdate))).toContain('already cancelling');

    const final = await handle(accountId).result();
    expect(final).toMatchObject({ status: 'cancelled', nextRefresh: null });
    const rows = await grants(accountId);
    expect(rows).toHaveLength(2);
    expect(rows.every((row) => row.expired_at !== null)).toBe(true);
    const later = new Date(new Date(opened.period.end).getTime() + 90 * 86_400_000);
    const balance = await ledger.balance({ accountId, now: later });
    expect(balance).toMatchObject({ status: 'cancelled', available: credits(30), bySource: { purchase: credits(30), allowance: 0 } });
    const spend = await ledger.charge({ accountId, userId: 'u', feature: 'ai.variable', quantity: 30, idempotencyKey: 'after-cancel', now: later });
    expect(spend.balance.available).toBe(0);
    expect(startedAt < later).toBe(true);
    await recordHistories(env.client, accountWorkflowId(accountId), 'cancel');
  });

  it('grants the free trial once, even when the account subscribes again', async () => {
    const { env, ledger } = stack();
    const accountId = 'trial-once';
    const opened = await open(accountId, 'sales-email-pro', { trial: true });
    expect(opened.trialGranted).toBe(true);
    expect(await grants(accountId, 'trial')).toEqual([expect.objectContaining({ amount: credits(500), expires_at: new Date(opened.period.end) })]);
    await handle(accountId).executeUpdate(cancelUpdate);
    await handle(accountId).result();

    const startAt = new Date(await env.currentTimeMs()).toISOString();
    await startAccount(env.client, TASK_QUEUE, { accountId, planId: 'sales-multichannel-expert', seats: 1, timeZone: 'UTC', startAt, trial: true });
    const again = await eventually(() => view(accountId), (state) => state.planId === 'sales-multichannel-expert', `${accountId} subscribed again`);
    expect(again).toMatchObject({ trialGranted: false, planId: 'sales-multichannel-expert', status: 'active' });
    expect(await grants(accountId, 'trial')).toHaveLength(1);
    const balance = await ledger.balance({ accountId, now: new Date(startAt) });
    expect(balance).toMatchObject({ planId: 'sales-multichannel-expert', status: 'active' });
  });

  it('validates plan changes before accepting them', async () => {
    const accountId = 'validation';
    await open(accountId, 'bim-premium-regional');
    expect(await failureOf(handle(accountId).executeUpdate(changePlanUpdate, { args: [{ planId: 'bim-premium-regional', seats: 0 }] }))).toContain('seats');
    expect(await failureOf(handle(accountId).executeUpdate(changePlanUpdate, { args: [{ planId: 'bim-premium-regional', seats: 1 }] }))).toContain('already scheduled');
    expect(await failureOf(handle(accountId).executeUpdate(changePlanUpdate, { args: [{ planId: 'no-such-plan', seats: 1 }] }))).toContain('no-such-plan');
    expect((await view(accountId)).planId).toBe('bim-premium-regional');
  });
});
