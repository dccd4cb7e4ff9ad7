/**
 * An account's workflow ended from outside (the Web UI's "Request Cancellation", `temporal workflow
 * cancel` or `terminate`), then the product carries on through the API as if nothing happened:
 * no period is ever granted twice, the API never answers "no running workflow" for an account
 * that exists, and the audit catches a period that was granted twice anyway.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createAccountActivities } from '../activities/account-activities.js';
import { loadCatalog } from '../src/catalog/catalog.js';
import { accountWorkflowId } from '../workflows/account-messages.js';
import { useApiStack } from './support/api-stack.js';
import { credits, freshLedger } from './support/database.js';
import { http } from './support/http.js';
import { eventually } from './support/temporal.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX_CLI = path.join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const stackOf = useApiStack();
const settings = (accountId: string, planId = 'sales-email-pro') => ({ accountId, planId, seats: 1, users: [{ userId: 'admin', role: 'admin' }] });

/**
 * Live period allowance grants per period start, straight from the ledger: revoked ones (written
 * off before they took effect) and an upgrade's difference (keyed `upgrade:`) do not count.
 */
async function allowancesByPeriod(accountId: string): Promise<Record<string, number>> {
  const { rows } = await stackOf().pool.query<{ period: Date; grants: number }>(
    `SELECT g.effective_at AS period, count(*)::int AS grants FROM grants g JOIN operations o USING (operation_id)
      WHERE g.account_id = $1 AND g.source = 'allowance' AND o.idempotency_key LIKE 'allowance:%'
        AND NOT (g.expired_at IS NOT NULL AND g.expired_at < g.effective_at)
      GROUP BY g.effective_at ORDER BY g.effective_at`,
    [accountId],
  );
  return Object.fromEntries(rows.map((row) => [row.period.toISOString(), row.grants]));
}

async function workflowClosed(accountId: string): Promise<void> {
  const handle = stackOf().env.client.workflow.getHandle(accountWorkflowId(accountId));
  await eventually(() => handle.describe(), (description) => description.status.name !== 'RUNNING', 'the workflow to close');
}

async function account(accountId: string): Promise<{ status: string; balance: { available: number } }> {
  const answer = await http(stackOf().api.url, 'GET', `/v1/accounts/${accountId}`);
  expect(answer.status).toBe(200);
  return answer.body as { status: string; balance: { available: number } };
}

describe('an account whose workflow was ended from outside', () => {
  it('cancelled in Temporal, then created again through the API: each period is granted once', async () => {
    expect((await http(stackOf().api.url, 'POST', '/v1/accounts', { json: settings('cancelled-outside') })).status).toBe(201);
    const before = await allowancesByPeriod('cancelled-outside');
    expect(Object.values(before)).toEqual([1, 1]); // this period, and the next one written ahead

    await stackOf().env.client.workflow.getHandle(accountWorkflowId('cancelled-outside')).cancel();
    await workflowClosed('cancelled-outside');
    expect((await http(stackOf().api.url, 'POST', '/v1/accounts', { json: settings('cancelled-outside') })).status).toBe(200);
    await eventually(() => stackOf().env.client.workflow.getHandle(accountWorkflowId('cancelled-outside')).describe(), (d) => d.status.name === 'RUNNING', 'a new run');
    await eventually(() => account('cancelled-outside'), (view) => view.status === 'active', 'the account to be open again');

    expect(await allowancesByPeriod('cancelled-outside')).toEqual(before);
    expect((await account('cancelled-outside')).balance.available).toBe(1000);
    expect((await stackOf().ledger.audit({ accountId: 'cancelled-outside' })).problems).toEqual([]);
  });

  it('terminated in Temporal: a plan change and a cancel through the API restart it from the ledger, granting nothing twice', async () => {
    expect((await http(stackOf().api.url, 'POST', '/v1/accounts', { json: settings('terminated-outside') })).status).toBe(201);
    const before = await allowancesByPeriod('terminated-outside');
    const handle = () => stackOf().env.client.workflow.getHandle(accountWorkflowId('terminated-outside'));
    await handle().terminate('operator mistake');
    await workflowClosed('terminated-outside');

    const upgraded = await http(stackOf().api.url, 'POST', '/v1/accounts/terminated-outside/plan', { json: { planId: 'sales-email-pro', seats: 2 } });
    expect(upgraded.status).toBe(200);
    expect(upgraded.body).toMatchObject({ effective: 'now', grantedNow: 1000 });
    expect((await account('terminated-outside')).balance.available).toBe(2000);

    await handle().terminate('operator mistake, again');
    await workflowClosed('terminated-outside');
    const cancelled = await http(stackOf().api.url, 'POST', '/v1/accounts/terminated-outside/cancel');
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelling' });
    // This period keeps its one allowance (plus the upgrade's difference); the next one was revoked by the cancel.
    const after = await allowancesByPeriod('terminated-outside');
    const [currentPeriod] = Object.keys(before);
    expect(after).toEqual({ [currentPeriod ?? '']: 1 });
    expect((await account('terminated-outside')).balance.available).toBe(2000);
    expect((await stackOf().ledger.audit({ accountId: 'terminated-outside' })).problems).toEqual([]);
  });

  it('re-subscribing a cancelled account makes it active again, and says why there is no second trial', async () => {
    const first = await http(stackOf().api.url, 'POST', '/v1/accounts', { json: { ...settings('comes-back', 'demo-fast'), trial: true } });
    expect([first.status, first.body]).toMatchObject([201, { trialGranted: true, trialNote: null }]);
    expect((await http(stackOf().api.url, 'POST', '/v1/accounts/comes-back/cancel')).status).toBe(200);
    // demo-fast periods last ten seconds: the cancellation takes effect at the end of this one.
    await eventually(() => account('comes-back'), (view) => view.status === 'cancelled', 'the cancellation to take effect', 30_000);
    await workflowClosed('comes-back');
    const again = await http(stackOf().api.url, 'POST', '/v1/accounts', { json: { ...settings('comes-back', 'demo-fast'), trial: true } });
    expect([again.status, again.body]).toMatchObject([200, { status: 'active', trialGranted: false, trialNote: expect.stringContaining('already had its trial') as string }]);
    await eventually(() => account('comes-back'), (view) => view.status === 'active', 'the account to be active again');
    const { rows } = await stackOf().pool.query<{ status: string }>('SELECT status FROM accounts WHERE account_id = $1', ['comes-back']);
    expect(rows[0]?.status).toBe('active');
  });
});

describe('the audit', () => {
  it('reports a period granted twice, and npm run audit exits 1', async () => {
    const { ledger, pool, url } = await freshLedger();
    try {
      const now = new Date('2026-12-01T10:00:00Z');
      const period = { start: new Date('2026-12-01T00:00:00Z'), end: new Date('2027-01-01T00:00:00Z') };
      await ledger.createAccount({ accountId: 'doubled', planId: 'sales-email-pro', seats: 1, timeZone: 'UTC', now });
      const allowance = { accountId: 'doubled', source: 'allowance' as const, credits: credits(1000), effectiveAt: period.start, expiresAt: period.end, now };
      await ledger.grant({ ...allowance, idempotencyKey: `allowance:${period.start.toISOString()}:r0:0` });
      expect((await ledger.audit()).problems).toEqual([]);
      const cli = () => spawnSync(process.execPath, [TSX_CLI, 'src/cli/main.ts', 'audit'], { cwd: REPO_ROOT, env: { ...process.env, DATABASE_URL: url }, encoding: 'utf8' });
      expect(cli().status).toBe(0);

      // What the old key (which named the subscription) let a second workflow run write.
      await ledger.grant({ ...allowance, idempotencyKey: `allowance:2026-12-01T09:00:00.000Z:${period.start.toISOString()}:r0:0` });
      const audit = await ledger.audit();
      expect(audit.problems).toEqual([expect.objectContaining({ check: 'one_allowance_per_period', accountId: 'doubled' })]);
      const failed = cli();
      expect(failed.status).toBe(1);
      expect(failed.stdout).toContain('one_allowance_per_period');
    } finally {
      await pool.end();
    }
  });

  it("reports a period whose allowance grants do not add up to the terms it was written from", async () => {
    const { ledger, pool } = await freshLedger();
    try {
      const now = '2026-12-01T10:00:00.000Z';
      const period = { start: '2026-12-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' };
      await ledger.createAccount({ accountId: 'off-terms', planId: 'sales-email-pro', seats: 2, timeZone: 'UTC', now: new Date(now) });
      const activities = createAccountActivities({ ledger, catalog: loadCatalog(), pool });
      const terms = await activities.planTerms({ planId: 'sales-email-pro', seats: 2, accountId: 'off-terms', at: now });
      expect(terms.allowanceTotal).toBe(credits(2000));
      await activities.grantAllowance({ accountId: 'off-terms', subscription: now, terms, period, revision: 0, now });
      expect((await ledger.audit()).problems).toEqual([]);

      // A grant of the same revision under another index: one per key, yet 500 more than the plan says.
      await ledger.grant({
        accountId: 'off-terms',
        source: 'allowance',
        credits: credits(500),
        effectiveAt: new Date(period.start),
        expiresAt: new Date(period.end),
        idempotencyKey: `allowance:${period.start}:r0:1`,
        origin: 'engine',
        now: new Date(now),
      });
      const audit = await ledger.audit();
      expect(audit.problems).toEqual([expect.objectContaining({ check: 'period_allowance_matches_terms', accountId: 'off-terms' })]);
      expect(audit.problems[0]?.detail).toContain('says 2000000000, its live allowance grants add 2500000000');
    } finally {
      await pool.end();
    }
  });
});
