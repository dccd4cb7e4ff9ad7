import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { inject } from 'vitest';
import { loadCatalog } from '../../src/catalog/catalog.js';
import { createDatabase } from '../../src/devstack/postgres.js';
import { createPool } from '../../src/ledger/db.js';
import { createLedger, type Ledger } from '../../src/ledger/ledger.js';
import { micros, type Micros } from '../../src/money.js';
import { TEMPLATE_DATABASE } from './constants.js';

/** A fresh, migrated database of the caller's own, copied from the template. */
export async function freshDatabase(): Promise<{ url: string; pool: pg.Pool }> {
  const name = `credits_test_${randomBytes(6).toString('hex')}`;
  const url = await createDatabase(inject('postgresServerUrl'), name, TEMPLATE_DATABASE);
  return { url, pool: createPool({ connectionString: url, max: 60 }) };
}

/** A ledger on a fresh database with the example catalog. */
export async function freshLedger(): Promise<{ ledger: Ledger; pool: pg.Pool; url: string }> {
  const { url, pool } = await freshDatabase();
  return { ledger: createLedger({ pool, catalog: loadCatalog() }), pool, url };
}

/** Credits to micros, for readable test amounts. */
export const credits = (amount: number): Micros => micros(Math.round(amount * 1_000_000));
