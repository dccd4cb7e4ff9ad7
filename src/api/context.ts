import type { OpenAPIHono } from '@hono/zod-openapi';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.js';
import type { JobStore } from '../jobs/jobs.js';
import type { Ledger } from '../ledger/ledger.js';
import type { HealthWatch } from '../health/watch.js';
import type { TemporalGateway } from '../temporal/gateway.js';

/** What the API depends on, each reported by GET /health. */
export type ApiDependency = 'database' | 'temporal' | 'worker';

export interface ApiDeps {
  pool: pg.Pool;
  ledger: Ledger;
  jobs: JobStore;
  catalog: Catalog;
  temporal: TemporalGateway;
  /** Watches the database, Temporal and the worker; started and stopped with the server. */
  health: HealthWatch<ApiDependency>;
  /** Bearer tokens accepted on every /v1 route. */
  tokens: readonly string[];
  logger: Logger;
  /** The clock every operation uses; injected so tests can pin it. */
  now: () => Date;
}

export interface AppEnv {
  Variables: { requestId: string; logger: Logger };
}

export type ApiApp = OpenAPIHono<AppEnv>;
