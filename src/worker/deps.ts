import type pg from 'pg';
import type { ActivityDeps } from '../../activities/index.js';
import type { Catalog } from '../catalog/catalog.js';
import { createJobStore } from '../jobs/jobs.js';
import { createLedger, type Ledger } from '../ledger/ledger.js';
import type { EnrichmentProvider } from '../providers/provider.js';
import type { WebhookTarget } from '../../activities/webhook-activities.js';

/** How a worker runs a job's batches, unless told otherwise (README, "Bulk enrichment jobs": how to choose). */
export const JOB_BATCH_DEFAULTS = {
  /** Provider calls in flight at once for one batch. */
  batchConcurrency: 20,
  /** Results stored (and charged) per flush, at most; records are read in pages of this size. */
  flushSize: 1_000,
  /** A flush at least this often while results come in. */
  flushIntervalMs: 250,
  /**
   * Records one batch has read and not yet stored, at most: the page at the provider, the next one
   * read meanwhile, and the results waiting for (or in) a flush. Bounds a batch's memory.
   */
  maxInFlightRecords: 4_000,
  /** Batches of one job at once, each over its own range of records (JOB_PARALLEL_BATCHES). */
  parallelBatches: 2,
} as const;

export interface WorkerWiring {
  pool: pg.Pool;
  catalog: Catalog;
  provider: EnrichmentProvider;
  /** Shared with an API in the same process; made from the pool when omitted. */
  ledger?: Ledger;
  batchConcurrency?: number;
  flushSize?: number;
  flushIntervalMs?: number;
  maxInFlightRecords?: number;
  parallelBatches?: number;
  webhook?: WebhookTarget;
}

/** Everything the activities need, wired the same way by the worker process, the dev stack, tests and benchmarks. */
export function createWorkerDeps(wiring: WorkerWiring): ActivityDeps {
  const { pool, catalog, provider } = wiring;
  const ledger = wiring.ledger ?? createLedger({ pool, catalog });
  return {
    pool,
    ledger,
    catalog,
    jobs: createJobStore({ pool, ledger }),
    provider,
    batchConcurrency: wiring.batchConcurrency ?? JOB_BATCH_DEFAULTS.batchConcurrency,
    flushSize: wiring.flushSize ?? JOB_BATCH_DEFAULTS.flushSize,
    flushIntervalMs: wiring.flushIntervalMs ?? JOB_BATCH_DEFAULTS.flushIntervalMs,
    maxInFlightRecords: wiring.maxInFlightRecords ?? JOB_BATCH_DEFAULTS.maxInFlightRecords,
    parallelBatches: wiring.parallelBatches ?? JOB_BATCH_DEFAULTS.parallelBatches,
    ...(wiring.webhook ? { webhook: wiring.webhook } : {}),
  };
}
