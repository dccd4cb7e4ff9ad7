import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ledger } from '../src/ledger/ledger.js';
import { credits, freshLedger } from './support/database.js';

const run = promisify(execFile);

let ledger: Ledger;
let pool: pg.Pool;
let url: string;

beforeAll(async () => {
  ({ ledger, pool, url } = await freshLedger());
  const now = new Date('2026-05-01T00:00:00Z');
  await ledger.createAccount({ accountId: 'audited', planId: 'sales-email-pro', users: [{ userId: 'admin', role: 'admin' }, { userId: 'u', role: 'member' }], now });
  await ledger.topUp({ accountId: 'audited', userId: 'admin', credits: credits(50), idempotencyKey: 't1', now });
  await ledger.charge({ accountId: 'audited', userId: 'u', feature: 'lead.email-finder', quantity: 2, idempotencyKey: 'c1', now });
  const hold = await ledger.reserve({ accountId: 'audited', userId: 'u', feature: 'lead.email-finder', maxCredits: credits(20), idempotencyKey: 'h1', now });
  await ledger.chargeHold({ accountId: 'audited', holdId: hold.holdId, idempotencyKey: 'job:r1', now });
});

afterAll(async () => {
  await pool.end();
});

async function audit(...args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run('npx', ['tsx', 'src/cli/main.ts', 'audit', ...args], { env: { ...process.env, DATABASE_URL: url } });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, stdout: failed.stdout };
  }
}

describe('audit', () => {
  it('is clean for a ledger written only through its operations, from the command line too', async () => {
    expect(await ledger.audit()).toMatchObject({ ok: true, problems: [], checked: { accounts: 1, grants: 1, holds: 1 } });
    const { code, stdout } = await audit();
    expect(stdout).toContain('audit clean');
    expect(code).toBe(0);
  });

  it('finds a balance changed behind the ledger, an orphaned earmark and a charge without entries', async () => {
    await pool.query("UPDATE grants SET remaining = remaining + 1000000 WHERE account_id = 'audited'");
    await pool.query("UPDATE operations SET credits = credits + 1 WHERE account_id = 'audited' AND idempotency_key = 'c1'");
    await pool.query("UPDATE holds SET released_at = now() WHERE account_id = 'audited'");
    const report = await ledger.audit({ accountId: 'audited' });
    expect(report.ok).toBe(false);
    expect(report.problems.map((problem) => problem.check).sort()).toEqual([
      'charge_matches_entries',
      'grant_balance_matches_entries',
      'released_hold_holds_nothing',
    ]);
    const { code, stdout } = await audit('--json');
    expect(code).toBe(1);
    expect((JSON.parse(stdout) as { problems: unknown[] }).problems).toHaveLength(3);
  });

  it('finds an entry and a billed subject that name no operation of their account', async () => {
    const { rows } = await pool.query<{ grant_id: string }>("SELECT grant_id FROM grants WHERE account_id = 'audited' LIMIT 1");
    await pool.query(
      `INSERT INTO ledger_entries (account_id, operation_id, grant_id, kind, amount, held_change, occurred_at)
       VALUES ('audited', 999999, $1, 'charge', -1, 0, now())`,
      [rows[0]?.grant_id],
    );
    await pool.query("INSERT INTO billed_subjects (account_id, subject_group, subject_id, billed_at, operation_id) VALUES ('audited', 'g', 's-1', now(), 999999)");
    const checks = (await ledger.audit({ accountId: 'audited' })).problems.map((problem) => problem.check);
    expect(checks).toEqual(expect.arrayContaining(['entry_has_operation', 'billed_subject_has_operation']));
  });
});
