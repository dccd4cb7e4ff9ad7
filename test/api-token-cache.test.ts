/**
 * Minted API tokens are looked up once per TOKEN_CACHE_TTL_MS, not once per request: a revocation
 * is immediate on the replica that made it and reaches another replica once its cached answer is
 * older than the TTL. Two stores on one database stand for two API replicas; their clock is the test's.
 */
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApiTokenStore, TOKEN_CACHE_TTL_MS } from '../src/auth/api-tokens.js';
import { freshLedger } from './support/database.js';

let pool: pg.Pool;
beforeAll(async () => {
  ({ pool } = await freshLedger());
});
afterAll(async () => {
  await pool.end();
});

it('asks the database once per TTL, and a revocation on another replica holds once the TTL has passed', async () => {
  let clock = 1_000_000;
  const queries: string[] = [];
  const counting = {
    query: (text: string, values: unknown[]) => {
      queries.push(text);
      return pool.query(text, values);
    },
  } as unknown as pg.Pool;
  const replica = createApiTokenStore(counting, { clockMs: () => clock });
  const other = createApiTokenStore(pool);
  const minted = await other.mint({ name: 'backend', scope: 'service', now: new Date() });

  expect((await replica.find(minted.token))?.revokedAt).toBeNull();
  for (let request = 0; request < 100; request++) await replica.find(minted.token);
  expect(queries.filter((sql) => sql.includes('secret_sha256 ='))).toHaveLength(1);

  await other.revoke(minted.tokenId, new Date());
  clock += TOKEN_CACHE_TTL_MS - 1;
  expect((await replica.find(minted.token))?.revokedAt).toBeNull();
  clock += 2;
  expect((await replica.find(minted.token))?.revokedAt).not.toBeNull();

  // On the replica that revokes, the revocation is immediate.
  const again = await replica.mint({ name: 'other', scope: 'read', now: new Date() });
  expect((await replica.find(again.token))?.revokedAt).toBeNull();
  await replica.revoke(again.tokenId, new Date());
  expect((await replica.find(again.token))?.revokedAt).not.toBeNull();
  expect(await replica.find('ctok_unknown')).toBeNull();
});
