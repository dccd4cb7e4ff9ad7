/**
 * Lookups of one account's rows must read that account's rows, not the whole table: a rollover
 * writes every account's next allowance at one boundary, and a per-account query that scans all
 * grants makes each renewal slower with every account added (found with pg_stat_statements in
 * accounts.open: the period-allowance lookup was a sequential scan of `grants`).
 *
 * The index must also be used when the statistics say the table is empty: a connection keeps the
 * plans of the ledger's functions, and a plan made while `operations` was analysed empty scanned
 * every operation at each charge until autovacuum analysed it again (found in ledger.charge.hot
 * after the bench runner's ANALYZE of a fresh ledger: 185 charges/s instead of 1,600).
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountActivities } from '../activities/account-activities.js';
import { loadCatalog } from '../src/catalog/catalog.js';
import { createPool } from '../src/ledger/db.js';
import { createLedger } from '../src/ledger/ledger.js';
import { credits, freshDatabase, freshLedger } from './support/database.js';

let pool: pg.Pool;

beforeAll(async () => {
  ({ pool } = await freshLedger());
});

afterAll(async () => {
  await pool.end();
});

/** Indexes of `table` that cover every row (no predicate) and lead with `column`. */
async function fullIndexesLeadingWith(table: string, column: string): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT i.relname AS name
       FROM pg_index x
       JOIN pg_class i ON i.oid = x.indexrelid
       JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
      WHERE x.indrelid = $1::regclass AND x.indpred IS NULL AND a.attname = $2`,
    [table, column],
  );
  return rows.map((row) => row.name);
}

describe('per-account lookups', () => {
  it("find an account's grants, expired or not, through an index (a period's allowance, its end, statements)", async () => {
    expect(await fullIndexesLeadingWith('grants', 'account_id')).not.toEqual([]);
  });

  it("find an account's operations by key through an index (idempotency)", async () => {
    expect(await fullIndexesLeadingWith('operations', 'account_id')).not.toEqual([]);
  });
});

/** Sequential scans of the ledger's tables so far, as this connection sees them once its own are counted. */
async function sequentialScans(connection: pg.Pool): Promise<Map<string, number>> {
  await connection.query('SELECT pg_stat_force_next_flush()');
  const { rows } = await connection.query<{ relname: string; seq_scan: string }>(
    `SELECT relname, seq_scan FROM pg_stat_user_tables
      WHERE relname IN ('accounts', 'account_users', 'account_contracts', 'period_terms', 'grants', 'operations', 'ledger_entries', 'billed_subjects', 'holds', 'domain_events')`,
  );
  return new Map(rows.map((row) => [row.relname, Number(row.seq_scan)]));
}

/** The tables `work` scanned whole, after `warmUp` made the plans a connection keeps. */
async function tablesScannedBy(connection: pg.Pool, warmUp: () => Promise<void>, work: () => Promise<void>): Promise<string[]> {
  await warmUp();
  const before = await sequentialScans(connection);
  await work();
  const after = await sequentialScans(connection);
  return [...after].filter(([table, scans]) => scans > (before.get(table) ?? 0)).map(([table]) => table);
}

/** A fresh ledger on one connection (every call runs on the backend whose plans are under test), analysed while empty. */
async function analysedEmptyLedger(): Promise<pg.Pool> {
  const { url, pool: setupPool } = await freshDatabase();
  await setupPool.end();
  const connection = createPool({ connectionString: url, max: 1 });
  await connection.query('ANALYZE');
  return connection;
}

describe('a ledger analysed while empty', () => {
  it('opens accounts through the indexes as it grows', async () => {
    const connection = await analysedEmptyLedger();
    try {
      const ledger = createLedger({ pool: connection, catalog: loadCatalog() });
      const activities = createAccountActivities({ ledger, catalog: loadCatalog(), pool: connection });
      const open = (accountId: string) =>
        activities.openPeriods({ accountId, planId: 'sales-email-pro', seats: 1, timeZone: 'UTC', startAt: '2026-12-01T00:00:00.000Z', trial: false, now: '2026-12-01T10:00:00.000Z' });
      const scanned = await tablesScannedBy(
        connection,
        async () => {
          for (let index = 0; index < 10; index += 1) await open(`warm-up-${index}`);
        },
        async () => {
          for (let index = 0; index < 20; index += 1) await open(`measured-${index}`);
        },
      );
      expect(scanned).toEqual([]);
    } finally {
      await connection.end();
    }
  });

  it('charges through the indexes as it grows, not by scanning every operation', async () => {
    const { url, pool: setupPool } = await freshDatabase();
    await setupPool.end();
    // One connection: every charge runs on the backend whose cached plans are under test.
    const connection = createPool({ connectionString: url, max: 1 });
    try {
      await connection.query('ANALYZE');
      const ledger = createLedger({ pool: connection, catalog: loadCatalog() });
      const now = new Date('2026-12-02T10:00:00.000Z');
      await ledger.createAccount({ accountId: 'grows', planId: 'sales-email-pro', seats: 1, timeZone: 'UTC', users: [{ userId: 'u1', role: 'admin' }], now });
      await ledger.topUp({ accountId: 'grows', userId: 'u1', credits: credits(1000), idempotencyKey: 'funding', now });
      const charge = (key: string) => ledger.charge({ accountId: 'grows', userId: 'u1', feature: 'ai.variable', quantity: 1, idempotencyKey: key, now });
      // Past the plan cache's five custom plans, so that the plan it keeps is the one measured.
      for (let index = 0; index < 10; index += 1) await charge(`warm-up-${index}`);
      const before = await sequentialScans(connection);
      for (let index = 0; index < 20; index += 1) await charge(`measured-${index}`);
      const after = await sequentialScans(connection);
      const scanned = [...after].filter(([table, scans]) => scans > (before.get(table) ?? 0)).map(([table]) => table);
      expect(scanned).toEqual([]);
      expect((await ledger.balance({ accountId: 'grows', now })).available).toBe(credits(970));
    } finally {
      await connection.end();
    }
  });
});
