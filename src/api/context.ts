import type { OpenAPIHono } from '@hono/zod-openapi';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { ApiTokenStore } from '../auth/api-tokens.js';
import type { SessionClaims } from '../auth/session-tokens.js';
import type { Catalog } from '../catalog/catalog.js';
import type { ConfiguredToken, MetricsAccess } from '../config.js';
import type { ApiScope } from '../contract/fields.js';
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
  /** Bearer tokens from the configuration (API_TOKENS), with their scopes. */
  tokens: readonly ConfiguredToken[];
  /** The tokens an admin minted, kept hashed in the database. */
  tokenStore: ApiTokenStore;
  /** Signs and checks accounts' session tokens (SESSION_TOKEN_SECRET). */
  sessionSecret: string;
  /** Who may read GET /metrics (METRICS_ACCESS). */
  metricsAccess: MetricsAccess;
  /** Origins whose pages may call the balance widget's routes (CREDITS_WIDGET_ORIGINS). */
  widgetOrigins: readonly string[];
  logger: Logger;
  /** The clock every operation uses; injected so tests can pin it. */
  now: () => Date;
}

/** Who calls: an API token with its scope (`tokenId` null for one of API_TOKENS), or an account's session token. */
export type Principal = { kind: 'token'; scope: ApiScope; tokenId: string | null } | { kind: 'session'; claims: SessionClaims };

export interface AppEnv {
  Variables: { requestId: string; logger: Logger; principal: Principal };
}

export type ApiApp = OpenAPIHono<AppEnv>;
