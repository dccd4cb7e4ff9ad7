import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type pg from 'pg';
import { pino } from 'pino';
import { startApiServer, type RunningApi } from '../../src/api/server.js';
import { createTemporalGateway } from '../../src/api/temporal-gateway.js';
import { loadCatalog, type Catalog } from '../../src/catalog/catalog.js';
import { createCreditsClient, type CreditsClient } from '../../src/client/client.js';
import { createJobStore } from '../../src/jobs/jobs.js';
import type { Ledger } from '../../src/ledger/ledger.js';
import type { EnrichmentProvider } from '../../src/providers/provider.js';
import { freshLedger } from './database.js';
import { devServerEnvironment, runWorker, type RunningWorker } from './temporal.js';

export const API_TOKEN = 'test-token-0123456789abcdef';

export interface ApiStack {
  api: RunningApi;
  client: CreditsClient;
  env: TestWorkflowEnvironment;
  pool: pg.Pool;
  ledger: Ledger;
  catalog: Catalog;
  databaseUrl: string;
  taskQueue: string;
  worker: RunningWorker;
  stop: () => Promise<void>;
}

/**
 * The real stack a product talks to: a fresh PostgreSQL database, the Temporal dev server, a worker
 * and the API on a free port, with a client holding a valid token.
 */
export async function startApiStack(options: { provider?: EnrichmentProvider; batchConcurrency?: number } = {}): Promise<ApiStack> {
  const { ledger, pool, url } = await freshLedger();
  const catalog = loadCatalog();
  const env = await devServerEnvironment();
  const taskQueue = `api-${Math.random().toString(36).slice(2)}`;
  const worker = await runWorker(env, taskQueue, { ledger, catalog, pool, ...options });
  const api = await startApiServer(
    {
      pool,
      ledger,
      jobs: createJobStore({ pool, ledger, catalog }),
      catalog,
      temporal: createTemporalGateway({ client: env.client, taskQueue }),
      tokens: [API_TOKEN],
      logger: pino({ level: process.env.API_TEST_LOG_LEVEL ?? 'silent' }),
      now: () => new Date(),
    },
    { port: 0 },
  );
  return {
    api,
    client: createCreditsClient({ baseUrl: api.url, token: API_TOKEN }),
    env,
    pool,
    ledger,
    catalog,
    databaseUrl: url,
    taskQueue,
    worker,
    stop: async () => {
      await api.close();
      await worker.stop();
      await env.teardown();
      await pool.end();
    },
  };
}
