import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { Logger } from 'pino';
import { createApiTokenStore } from '../auth/api-tokens.js';
import type { Catalog } from '../catalog/catalog.js';
import type { ConfiguredToken, MetricsAccess } from '../config.js';
import { createJobStore } from '../jobs/jobs.js';
import { createLedger, type Ledger } from '../ledger/ledger.js';
import { probeDatabase, probeTemporal } from '../health/probes.js';
import { createHealthWatch } from '../health/watch.js';
import type { ApiDeps } from './context.js';
import { createTemporalGateway } from '../temporal/gateway.js';

export interface ApiWiring {
  pool: pg.Pool;
  catalog: Catalog;
  /** Shared with a worker in the same process; made from the pool when omitted. */
  ledger?: Ledger;
  client: Client;
  taskQueue: string;
  tokens: readonly ConfiguredToken[];
  /**
   * Signs accounts' session tokens. Omitted: a random one for this process, right for an API alone
   * in its process (tests, benchmarks); replicas must share one (SESSION_TOKEN_SECRET).
   */
  sessionSecret?: string;
  /** Who may read GET /metrics; open when omitted. */
  metricsAccess?: MetricsAccess;
  /** Origins whose pages may call the balance widget's routes; none when omitted. */
  widgetOrigins?: readonly string[];
  logger: Logger;
  /** How long a Temporal call may take before the API answers 503. */
  callDeadlineMs?: number;
  /** The clock of every request; a test on the time-skipping server passes the server's. */
  now?: () => Date;
}

/** Everything the API needs, wired the same way by the API process, the dev stack, tests and benchmarks. */
export function createApiDeps(wiring: ApiWiring): ApiDeps {
  const { pool, catalog, client, taskQueue, tokens, logger } = wiring;
  const ledger = wiring.ledger ?? createLedger({ pool, catalog });
  const temporalProbes = probeTemporal(client, taskQueue);
  return {
    pool,
    ledger,
    jobs: createJobStore({ pool, ledger }),
    catalog,
    health: createHealthWatch({
      probes: { database: probeDatabase(pool), temporal: temporalProbes.temporal, worker: temporalProbes.worker },
      labels: { database: 'database', temporal: 'Temporal', worker: `worker on task queue "${taskQueue}"` },
      logger,
      release: temporalProbes.close,
    }),
    temporal: createTemporalGateway({ client, taskQueue, ...(wiring.callDeadlineMs === undefined ? {} : { callDeadlineMs: wiring.callDeadlineMs }) }),
    tokens,
    tokenStore: createApiTokenStore(pool),
    sessionSecret: wiring.sessionSecret ?? randomBytes(32).toString('base64url'),
    metricsAccess: wiring.metricsAccess ?? 'open',
    widgetOrigins: wiring.widgetOrigins ?? [],
    logger,
    now: wiring.now ?? (() => new Date()),
  };
}
