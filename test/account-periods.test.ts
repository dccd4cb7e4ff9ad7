import { describe, expect, it } from 'vitest';
import { daysLeft, periodByIndex } from '../src/periods/periods.js';
import { startAccount } from '../src/temporal/accounts.js';
import { accountStateQuery, type OpenAccountView } from '../workflows/account-messages.js';
import { PERIODS_PER_RUN } from '../workflows/account.js';
import { credits } from './support/database.js';
import { recordHistories } from './support/histories.js';
import { eventually, useWorkerStack } from './support/temporal.js';

const TASK_QUEUE = 'periods';
const PERIODS = 14;

const stack = useWorkerStack({ server: 'time-skipping', taskQueue: TASK_QUEUE });

interface AllowanceRow {
  effective_at: Date;
  expires_at: Date;
  amount: number;
  remaining: number;
  expired_at: Date | null;
}

async function allowanceGrants(accountId: string): Promise<AllowanceRow[]> {
  const { rows } = await stack().pool.query<AllowanceRow>(
    `SELECT effective_at, expires_at, amount, remaining, expired_at FROM grants
      WHERE account_id = $1 AND source = 'allowance' ORDER BY effective_at, grant_id`,
    [accountId],
  );
  return rows;
}

async function state(accountId: string): Promise<OpenAccountView> {
  const view = await stack().env.client.workflow.getHandle(`account:${accountId}`).query(accountStateQuery);
  if (view.status === 'opening') throw new Error(`${accountId} is still opening`);
  return view;
}

/**
 * Moves the test server's clock to just past `instant`, then waits on the ledger (not on queries,
 * which can stall while a run is continuing-as-new) until the boundary is processed: `index`
 * expired allowances and the next period written ahead.
 */
async function crossBoundary(accountId: string, instant: string, index: number): Promise<OpenAccountView> {
  const { env } = stack();
  const skip = new Date(instant).getTime() - (await env.currentTimeMs()) + 1;
  if (skip > 0) await env.sleep(skip);
  await eventually(
    () => allowanceGrants(accountId),
    (rows) => rows.filter((row) => row.expired_at !== null).length >= index && rows.length >= index + 2,
    `${accountId} past boundary ${index}`,
  );
  return state(accountId);
}

const RULES = [
  { name: 'calendar month on the 1st (Europe/Stockholm)', planId: 'bim-premium-regional', timeZone: 'Europe/Stockholm', allowance: 250 },
  { name: 'monthly anniversary from the 31st (America/New_York)', planId: 'ecom-pro', timeZone: 'America/New_York', allowance: 2500, startDay: 31 },
  { name: 'every 30 days (Asia/Tokyo)', planId: 'notify-5k', timeZone: 'Asia/Tokyo', allowance: 10000 },
  { name: 'ISO duration PT10S (UTC)', planId: 'demo-fast', timeZone: 'UTC', allowance: 100 },
] as const;

describe(`an account through ${PERIODS} periods`, () => {
  for (const rule of RULES) {
    it(`${rule.name}: one allowance per period, the previous one expired, purchases untouched`, async () => {
      const { env, ledger, pool, catalog } = stack();
      const accountId = `periods-${rule.planId}`;
      const plan = catalog.plan(rule.planId);
      if (!plan) throw new Error(`no plan ${rule.planId}`);
      const serverNow = new Date(await env.currentTimeMs());
      const startAt = 'startDay' in rule ? new Date(Date.UTC(serverNow.getUTCFullYear() + 1, 0, rule.startDay, 15)) : serverNow;
      if (startAt > serverNow) await env.sleep(startAt.getTime() - serverNow.getTime());
      await startAccount(env.client, TASK_QUEUE, { accountId, planId: rule.planId, seats: 1, timeZone: rule.timeZone, startAt: startAt.toISOString(), trial: false });
      const first = await eventually(() => state(accountId), () => true, `${accountId} opened`);
      expect(first.period.index).toBe(0);
      await ledger.setUser({ accountId, userId: 'admin', role: 'admin', creditsAllowed: true, now: startAt });
      await ledger.setUser({ accountId, userId: 'u', role: 'member', creditsAllowed: true, now: startAt });
      await ledger.topUp({ accountId, userId: 'admin', credits: credits(7), idempotencyKey: 'topup', now: startAt });

      let view = first;
      for (let index = 1; index <= PERIODS; index++) {
        const previous = view.period;
        // Spend a little of the allowance before the boundary; the rest must expire at it.
        await ledger.charge({ accountId, userId: 'u', feature: plan.features[0] ?? '', quantity: 1, idempotencyKey: `spend-${index}`, now: new Date(previous.start) });
        view = await crossBoundary(accountId, previous.end, index);
        const expected = periodByIndex(plan.period, startAt, rule.timeZone, index);
        expect(view.period).toEqual({ index, start: expected.start.toISOString(), end: expected.end.toISOString() });
        expect(view.period.start).toBe(previous.end);

        const start = new Date(view.period.start);
        const grants = await allowanceGrants(accountId);
        // One allowance per period: the current ones and the next one written ahead.
        expect(grants.map((grant) => grant.effective_at.toISOString())).toEqual(
          Array.from({ length: index + 2 }, (_, offset) => periodByIndex(plan.period, startAt, rule.timeZone, offset).start.toISOString()),
        );
        for (const grant of grants.slice(0, index)) {
          expect(grant.expired_at?.toISOString()).toBe(grant.expires_at.toISOString());
          expect(grant.remaining).toBe(0);
        }
        expect(grants.slice(index).every((grant) => grant.expired_at === null && grant.amount === credits(rule.allowance))).toBe(true);

        const balance = await ledger.balance({ accountId, now: start });
        expect(balance.bySource).toMatchObject({ allowance: credits(rule.allowance), purchase: credits(7) });
        const { rows: spentFromPurchase } = await pool.query<{ n: number }>(
          "SELECT count(*)::bigint AS n FROM ledger_entries e JOIN grants g USING (grant_id) WHERE g.account_id = $1 AND g.source = 'purchase' AND e.kind <> 'grant'",
          [accountId],
        );
        expect(spentFromPurchase[0]?.n).toBe(0);
        // At the start of a period the whole period is left: its calendar days, at least 1.
        const lengthMs = new Date(view.period.end).getTime() - start.getTime();
        expect(daysLeft(new Date(view.period.end), start, rule.timeZone)).toBe(Math.max(1, Math.round(lengthMs / 86_400_000)));
      }

      // Every period's statement adds up, follows on from the one before, and the running one ends at the balance.
      const now = new Date(await env.currentTimeMs());
      let carried = 0;
      for (let index = 0; index <= PERIODS; index++) {
        const expected = periodByIndex(plan.period, startAt, rule.timeZone, index);
        const statement = await ledger.statement({ accountId, at: expected.start, now });
        expect(statement.period).toMatchObject({ start: expected.start.toISOString(), end: expected.end.toISOString() });
        expect(statement.opening.total).toBe(carried);
        const { opening, granted, charged, refunded, adjusted, expired, closing } = statement;
        expect(closing.total).toBe(opening.total + granted.total - charged.total + refunded - adjusted - expired.total);
        expect(granted.bySource.allowance).toBe(credits(rule.allowance));
        expect(charged.byFeature.map((line) => [line.key, line.charges])).toEqual(index < PERIODS ? [[plan.features[0], 1]] : []);
        if (index < PERIODS) {
          // The allowance's remainder leaves in its own period, so only the purchase is carried.
          expect(expired.bySource.allowance).toBe(credits(rule.allowance) - charged.total);
          expect(closing.bySource).toMatchObject({ allowance: 0, purchase: credits(7) });
        } else {
          const balance = await ledger.balance({ accountId, now });
          expect(closing.total).toBe(balance.available + balance.held);
        }
        carried = closing.total;
      }
      expect((await ledger.audit({ accountId })).problems).toEqual([]);
    });
  }
});

describe('an account over many periods', () => {
  it(`crosses ${PERIODS_PER_RUN} boundaries in one run, each in one ledger transaction, then continues as new and goes on`, async () => {
    const { env, pool } = stack();
    const accountId = 'periods-many';
    const startAt = new Date(await env.currentTimeMs());
    const handle = await startAccount(env.client, TASK_QUEUE, { accountId, planId: 'demo-fast', seats: 1, timeZone: 'UTC', startAt: startAt.toISOString(), trial: false });
    await eventually(() => state(accountId), () => true, `${accountId} opened`);
    const boundaries = PERIODS_PER_RUN + 2;
    const last = await crossBoundary(accountId, periodByIndex({ rule: 'duration', duration: 'PT10S' }, startAt, 'UTC', boundaries - 1).end.toISOString(), boundaries);
    expect(last.period.index).toBe(boundaries);
    const grants = await allowanceGrants(accountId);
    expect(grants.map((grant) => grant.effective_at.toISOString())).toEqual(
      Array.from({ length: boundaries + 2 }, (_, offset) => periodByIndex({ rule: 'duration', duration: 'PT10S' }, startAt, 'UTC', offset).start.toISOString()),
    );
    expect(grants.slice(0, boundaries).every((grant) => grant.expired_at?.getTime() === grant.expires_at.getTime())).toBe(true);
    // The first run crossed PERIODS_PER_RUN boundaries, one workflow task each (no activity task).
    const current = await handle.describe();
    const firstRunId = current.raw.workflowExecutionInfo?.firstRunId ?? '';
    expect(firstRunId).not.toBe(current.runId);
    const history = await env.client.workflow.getHandle(handle.workflowId, firstRunId).fetchHistory();
    const events = history.events ?? [];
    expect(events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
    expect(events.filter((event) => event.timerFiredEventAttributes).length).toBe(PERIODS_PER_RUN);
    expect(events.filter((event) => event.activityTaskScheduledEventAttributes).length).toBe(0);
    const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM domain_events WHERE account_id = $1 AND event_type = 'period.renewed'", [accountId]);
    expect(rows[0]?.n).toBe(boundaries + 1);
    await recordHistories(env.client, handle.workflowId, 'many-periods');
  });
});
