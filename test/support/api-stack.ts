import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';
import { pino } from 'pino';
import { startApiServer, type RunningApi } from '../../src/api/server.js';
import { createApiDeps } from '../../src/api/deps.js';
import { loadCatalog, type Catalog } from '../../src/catalog/catalog.js';
import { createCreditsClient, type CreditsClient } from '../../src/client/client.js';
import type { ConfiguredToken } from '../../src/config.js';
import type { Ledger } from '../../src/ledger/ledger.js';
import type { EnrichmentProvider } from '../../src/providers/provider.js';
import { freshLedger } from './database.js';
import { devServerEnvironment, runWorker, timeSkippingEnvironment, type RunningWorker } from './temporal.js';

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
export interface ApiStackOptions {
  provider?: EnrichmentProvider;
  batchConcurrency?: number;
  /** `time-skipping`: the test moves time with `env.sleep` and gives the API the same clock with `now`. */
  server?: 'dev' | 'time-skipping';
  now?: () => Date;
  /** Tokens the API accepts besides API_TOKEN (admin), as API_TOKENS would configure them. */
  tokens?: ConfiguredToken[];
  /** Origins whose pages may call the widget's routes, as CREDITS_WIDGET_ORIGINS would configure them. */
  widgetOrigins?: string[];
  /** SESSION_TOKEN_SECRET, for a test that signs a session token itself (one already expired); random otherwise. */
  sessionSecret?: string;
}

export async function startApiStack(options: ApiStackOptions = {}): Promise<ApiStack> {
  const { ledger, pool, url } = await freshLedger();
  const catalog = loadCatalog();
  const { server = 'dev', now, tokens = [], widgetOrigins, sessionSecret, ...workerOptions } = options;
  const env = server === 'dev' ? await devServerEnvironment() : await timeSkippingEnvironment();
  const taskQueue = `api-${Math.random().toString(36).slice(2)}`;
  const worker = await runWorker(env, taskQueue, { ledger, catalog, pool, ...workerOptions });
  const api = await startApiServer(
    createApiDeps({
      pool,
      catalog,
      ledger,
      client: env.client,
      taskQueue,
      tokens: [{ scope: 'admin', token: API_TOKEN }, ...tokens],
      logger: pino({ level: process.env.API_TEST_LOG_LEVEL ?? 'silent' }),
      ...(now ? { now } : {}),
      ...(widgetOrigins ? { widgetOrigins } : {}),
      ...(sessionSecret ? { sessionSecret } : {}),
    }),
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

/**
 * One stack for a test file: started before its tests, stopped after them, and the ledger audit
 * must then be clean. Returns the accessor the tests use.
 */
export function useApiStack(options: Parameters<typeof startApiStack>[0] = {}): () => ApiStack {
  let stack: ApiStack | undefined;
  beforeAll(async () => {
    stack = await startApiStack(options);
  }, 120_000);
  afterAll(async () => {
    if (!stack) return;
    const audit = await stack.ledger.audit();
    await stack.stop();
    expect(audit.problems).toEqual([]);
  });
  return () => {
    if (!stack) throw new Error('the API stack is not running');
    return stack;
  };
}
