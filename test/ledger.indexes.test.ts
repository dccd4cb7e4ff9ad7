/**
 * Lookups of one account's rows must read that account's rows, not the whole table: a rollover
 * writes every account's next allowance at one boundary, and a per-account query that scans all
 * grants makes each renewal slower with every account added (found with pg_stat_statements in
 * accounts.open: the period-allowance lookup was a sequential scan of `grants`).
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshLedger } from './support/database.js';

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
