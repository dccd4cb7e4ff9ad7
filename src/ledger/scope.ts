/**
 * What every ledger operation runs with: the catalog, where its queries go, how it opens a
 * transaction, and how a charge joins a group-commit batch. The facade (src/ledger/ledger.ts)
 * builds one for the pool and one for a caller's own transaction (`within(client)`).
 */
import type { Catalog } from '../catalog/catalog.js';
import type { BatchRunner } from './charge-batch.js';
import type { Queryable } from './db.js';

export type Transaction = <T>(work: (client: Queryable) => Promise<T>) => Promise<T>;

export interface LedgerScope {
  catalog: Catalog;
  /** Reads and one-call operations: the pool, or the caller's transaction. */
  db: Queryable;
  /** Operations of several statements run in one of these. */
  transaction: Transaction;
  /** A charge or a job's flush, in a batch with the account's concurrent charges. */
  inBatch: BatchRunner;
}
