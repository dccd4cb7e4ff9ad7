/**
 * The whole product on one machine, for `npm run dev`: embedded PostgreSQL, the Temporal CLI's dev
 * server with its Web UI, the worker and the API in this process, and a demo account with a bulk
 * job, seeded through the typed client (skipped when the catalog lacks what the demo needs).
 * Everything keeps its state in one data directory (`.data/` by default), so a second start finds
 * the same accounts, ledger and workflows; while it runs, `dev-stack.json` there says where its
 * database is (`state.ts`).
 *
 * ```ts
 * const stack = await startDevStack({ dataDir: '.data' });
 * console.log(stack.urls.api, stack.token);
 * await stack.stop(); // API, worker, Temporal, PostgreSQL, in that order
 * ```
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type pg from 'pg';
import { pino, type Logger } from 'pino';
import { startApiServer } from '../api/server.js';
import { createApiDeps } from '../api/deps.js';
import { loadCatalog, EXAMPLE_CATALOG_PATH } from '../catalog/catalog.js';
import { firstAdminToken, type ConfiguredToken } from '../config.js';
import { createCreditsClient } from '../client/client.js';
import { createPool } from '../ledger/db.js';
import { createLedger } from '../ledger/ledger.js';
import { migrate } from '../ledger/migrate.js';
import { createSimulatedProvider } from '../providers/simulated.js';
import { registerSearchAttributes } from '../temporal/search-attributes.js';
import { createWorkerDeps } from '../worker/deps.js';
import { bundleWorkflowsApart } from '../worker/workflow-code.js';
import { createCreditsWorker } from '../worker/worker.js';
import { DEMO, demoCatalogProblem, seedDemo, type DemoSeed } from './demo.js';
import { createDatabase, freePort, startEmbeddedPostgres } from './postgres.js';
import { DEFAULT_DATA_DIR, isAlive, removeDevStackState, writeDevStackState } from './state.js';
import { startSupervised } from './supervise.js';
import { portIsFree, startTemporalDevServer } from './temporal-dev-server.js';

/** The ports a newcomer expects; each falls back to a free port when taken (and says so). */
export const DEFAULT_PORTS = { api: 3000, temporal: 7233, temporalUi: 8233, postgres: 5432 } as const;

export type PortName = keyof typeof DEFAULT_PORTS;

const PORT_LABELS: Record<PortName, string> = { api: 'API', temporal: 'Temporal', temporalUi: 'Temporal UI', postgres: 'PostgreSQL' };

const DATABASE_NAME = 'credits';
const BIND_IP = '127.0.0.1';
const WORKER_STOP_TIMEOUT_MS = 20_000;

export interface DevStackOptions {
  /** Holds `postgres/`, `temporal.db` and `dev-token`; created if missing, reused as it is. Default `<repo>/.data`. */
  dataDir?: string;
  /**
   * Per port: unset means the default (`DEFAULT_PORTS`), or a free port if that one is taken;
   * 0 means any free port; another number means exactly that port (start-up fails if it is taken).
   */
  ports?: Partial<Record<PortName, number>>;
  /** A PostgreSQL database to use instead of the embedded server (migrated at start). */
  databaseUrl?: string;
  /** A Temporal frontend (`host:port`) to use instead of the dev server; its Web UI is not known then. */
  temporalAddress?: string;
  namespace?: string;
  taskQueue?: string;
  catalogPath?: string;
  /** Bearer tokens the API accepts; the first admin one is printed and seeds the demo. Default: the data directory's dev token (admin). */
  apiTokens?: readonly ConfiguredToken[];
  /** Signs accounts' session tokens. Default: a secret generated once into the data directory's `session-secret`. */
  sessionTokenSecret?: string;
  /** Origins whose pages may embed the balance widget (CREDITS_WIDGET_ORIGINS). Default: none. */
  widgetOrigins?: readonly string[];
  /** Latency of the simulated enrichment provider, so the demo job's progress can be watched. Default 20 ms. */
  providerLatencyMs?: number;
  /** Share of simulated lookups that find a chargeable result. Default 0.6. */
  providerVerifiedRate?: number;
  /** Concurrent provider calls per batch. Default 20. */
  providerConcurrency?: number;
  /** Seed the demo account and job (idempotent). Default true. */
  seed?: boolean;
  /** The API's request log. Default: warnings only. */
  logger?: Logger;
  /** Progress of the start-up, one line at a time. */
  progress?: (line: string) => void;
  /** Every line PostgreSQL and the Temporal server print (for debugging the stack itself). */
  serverLog?: (line: string) => void;
}

export interface DevStackUrls {
  api: string;
  openapi: string;
  docs: string;
  /** The operator console. */
  console: string;
  /** `host:port` of the Temporal frontend, as TEMPORAL_ADDRESS expects it. */
  temporalAddress: string;
  /** The Temporal Web UI, or null with an external Temporal server. */
  temporalUi: string | null;
  /** The Web UI's list of the demo account's workflows (account and jobs), or null without a UI or a demo. */
  demoWorkflows: string | null;
  /** The ledger database (credentials included: a dev server on this machine only). */
  database: string;
}

export interface DevStack {
  urls: DevStackUrls;
  /** The bearer token to call the API with. */
  token: string;
  /** Where the token came from: the given tokens (API_TOKENS), or the data directory's dev-token file. */
  tokenSource: 'option' | 'file';
  /** The file holding the dev token, when that is where it came from. */
  tokenFile: string | null;
  dataDir: string;
  ports: { api: number; temporal: number | null; temporalUi: number | null; postgres: number | null };
  /** Defaults that were taken and replaced by a free port. */
  portNotes: string[];
  /** What the seed did, or null when it did not run: seeding was off, or `demoSkipped` says why not. */
  demo: DemoSeed | null;
  /** Why the demo was not seeded although seeding was on (the catalog lacks what it needs), or null. */
  demoSkipped: string | null;
  /** The catalog's plans, so that without the demo the banner can show how to open an account. */
  planIds: string[];
  /** API, worker, Temporal server, PostgreSQL, in that order; idempotent. Rejects with every step that failed. */
  stop: () => Promise<void>;
  /**
   * Resolves with the reason when a server the stack started exited and could not be restarted;
   * the stack is stopping itself then (`stop()` settles when it is done). Never settles otherwise.
   */
  failed: Promise<Error>;
}

/** The Web UI's workflow list filtered by a visibility query (UI v2: `/namespaces/<ns>/workflows?query=`). */
export function temporalUiWorkflowsUrl(uiUrl: string, namespace: string, query: string): string {
  return `${uiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(query)}`;
}

/** The token in `file`, or a new one written there (readable by the owner only). */
export function devToken(file: string): string {
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 16) return token;
  }
  const token = `dev-${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

/**
 * Claims the data directory for this process (`dev.pid`): two stacks on one directory would run two
 * Temporal servers on one SQLite file. A claim whose process is gone is taken over.
 */
function claimDataDir(dataDir: string): () => void {
  const file = path.join(dataDir, 'dev.pid');
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const owner = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new Error(`another dev stack (pid ${owner}) is using ${dataDir}: stop it first, or give this one another CREDITS_DEV_DATA_DIR`, { cause: error });
      }
      rmSync(file, { force: true });
    }
  }
  return () => {
    rmSync(file, { force: true });
  };
}

async function choosePort(name: PortName, requested: number | undefined, notes: string[]): Promise<number> {
  if (requested === 0) return freePort();
  if (requested !== undefined) {
    if (!(await portIsFree(BIND_IP, requested))) throw new Error(`the ${PORT_LABELS[name]} port ${requested} is already in use on ${BIND_IP}`);
    return requested;
  }
  const preferred = DEFAULT_PORTS[name];
  if (await portIsFree(BIND_IP, preferred)) return preferred;
  const port = await freePort();
  notes.push(`${PORT_LABELS[name]}: port ${preferred} is taken, using ${port}`);
  return port;
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work.finally(() => {
      clearTimeout(timer);
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`${what} did not finish within ${ms / 1000} s`));
      }, ms);
    }),
  ]);
}

/** Worker lifecycle logs are INFO by default; and this process, not the SDK, decides what a signal does. */
function installTemporalRuntime(): void {
  if (Runtime._instance === undefined) Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
}

/**
 * Starts the stack. On any failure, whatever was already running is stopped again before the
 * error is rethrown, so a failed start leaves no server behind.
 */
export async function startDevStack(options: DevStackOptions = {}): Promise<DevStack> {
  const dataDir = path.resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const progress = options.progress ?? (() => undefined);
  const serverLog = options.serverLog ?? (() => undefined);
  const namespace = options.namespace ?? 'default';
  const taskQueue = options.taskQueue ?? 'credits';
  const logger = options.logger ?? pino({ name: 'credits-dev', level: 'warn' });
  mkdirSync(dataDir, { recursive: true });
  const release = claimDataDir(dataDir);

  /** What to undo, in start order; `stop` runs it backwards. */
  const running: { name: string; stop: () => Promise<void> }[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const failures: unknown[] = [];
      for (const step of running.toReversed()) {
        progress(`stopping ${step.name}`);
        try {
          await step.stop();
        } catch (error) {
          failures.push(new Error(`stopping ${step.name} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
        }
      }
      removeDevStackState(dataDir);
      release();
      if (failures.length > 0) throw new AggregateError(failures, 'the dev stack did not stop cleanly');
    })();
    return stopping;
  };

  let up = false;
  let gaveUpDuringStartUp: Error | undefined;
  let reportFailure = (_reason: Error): void => undefined;
  const failed = new Promise<Error>((resolve) => {
    reportFailure = resolve;
  });
  /** A server the stack started is down for good. */
  const onGiveUp = (reason: Error): void => {
    // A stop under way (Ctrl-C) ends the stack anyway, and not as a failure.
    if (stopping) return;
    // Stopping now would race the start-up still adding to `running`: the start-up fails instead.
    if (!up) {
      gaveUpDuringStartUp ??= reason;
      return;
    }
    progress('giving up: stopping everything');
    reportFailure(reason);
    // Its failures reach whoever awaits `stop()`.
    stop().catch(() => undefined);
  };

  try {
    const portNotes: string[] = [];
    const ports = options.ports ?? {};
    const tokenFile = options.apiTokens && options.apiTokens.length > 0 ? null : path.join(dataDir, 'dev-token');
    const tokens: readonly ConfiguredToken[] = tokenFile === null ? (options.apiTokens ?? []) : [{ scope: 'admin', token: devToken(tokenFile) }];
    const token = firstAdminToken(tokens);
    // Kept in the data directory like the dev token, so a page's session token outlives a restart.
    const sessionSecret = options.sessionTokenSecret ?? devToken(path.join(dataDir, 'session-secret'));

    installTemporalRuntime();
    // Webpack is the slow part of a worker's start: bundle (in a process of its own) while the servers come up.
    const bundling = bundleWorkflowsApart();
    bundling.catch(() => undefined);

    const startPostgres = async (): Promise<{ url: string; port: number | null; stop: (() => Promise<void>) | null }> => {
      if (options.databaseUrl !== undefined) return { url: options.databaseUrl, port: null, stop: null };
      const port = await choosePort('postgres', ports.postgres, portNotes);
      progress(`starting PostgreSQL on port ${port} (data in ${path.join(dataDir, 'postgres')})`);
      const { server, stop: stopServer } = await startSupervised({
        name: `PostgreSQL (port ${port})`,
        start: () => startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres'), port, detached: true, log: serverLog }),
        progress,
        onGiveUp,
      });
      try {
        return { url: await createDatabase(server.url, DATABASE_NAME), port, stop: stopServer };
      } catch (error) {
        await stopServer();
        throw error;
      }
    };
    const startTemporal = async (): Promise<{ address: string; uiUrl: string | null; port: number | null; uiPort: number | null; stop: (() => Promise<void>) | null }> => {
      if (options.temporalAddress !== undefined) {
        const connection = await Connection.connect({ address: options.temporalAddress });
        try {
          await registerSearchAttributes(connection, namespace);
        } finally {
          await connection.close();
        }
        return { address: options.temporalAddress, uiUrl: null, port: null, uiPort: null, stop: null };
      }
      const port = await choosePort('temporal', ports.temporal, portNotes);
      const uiPort = await choosePort('temporalUi', ports.temporalUi, portNotes);
      progress(`starting the Temporal dev server on port ${port}, Web UI on ${uiPort} (state in ${path.join(dataDir, 'temporal.db')})`);
      const { server, stop: stopServer } = await startSupervised({
        name: `the Temporal dev server (port ${port})`,
        start: () =>
          startTemporalDevServer({
            ip: BIND_IP,
            port,
            uiPort,
            namespace,
            dbFile: path.join(dataDir, 'temporal.db'),
            sqlitePragmas: { journal_mode: 'wal', synchronous: 'normal' },
            detached: true,
            log: serverLog,
            startTimeoutMs: 60_000,
          }),
        progress,
        onGiveUp,
      });
      return { address: server.address, uiUrl: server.uiUrl, port, uiPort, stop: stopServer };
    };
    // Both servers start at once. They are recorded in a fixed order (PostgreSQL stops last), and
    // when one fails to start, the other is stopped again with the rest.
    const [postgresStart, temporalStart] = await Promise.allSettled([startPostgres(), startTemporal()]);
    if (postgresStart.status === 'fulfilled' && postgresStart.value.stop) running.push({ name: 'PostgreSQL', stop: postgresStart.value.stop });
    if (temporalStart.status === 'fulfilled' && temporalStart.value.stop) running.push({ name: 'the Temporal dev server', stop: temporalStart.value.stop });
    if (postgresStart.status === 'rejected') throw postgresStart.reason;
    if (temporalStart.status === 'rejected') throw temporalStart.reason;
    const database = postgresStart.value;
    const temporal = temporalStart.value;

    progress('migrating the ledger database');
    await migrate(database.url);
    const catalog = loadCatalog(options.catalogPath ?? EXAMPLE_CATALOG_PATH);
    const pool: pg.Pool = createPool({ connectionString: database.url, max: 20, applicationName: 'credits-dev', logger });
    running.push({ name: 'the database pool', stop: () => pool.end() });
    const ledger = createLedger({ pool, catalog });

    progress('starting the worker');
    const nativeConnection = await NativeConnection.connect({ address: temporal.address });
    running.push({ name: 'the worker connection', stop: () => nativeConnection.close() });
    const deps = createWorkerDeps({
      pool,
      ledger,
      catalog,
      provider: createSimulatedProvider(catalog, { verifiedRate: options.providerVerifiedRate ?? 0.6, latencyMs: options.providerLatencyMs ?? 20 }),
      ...(options.providerConcurrency === undefined ? {} : { batchConcurrency: options.providerConcurrency }),
    });
    const worker: Worker = await createCreditsWorker({ connection: nativeConnection, namespace, taskQueue, deps, workflowBundle: await bundling, identity: `credits-dev@${process.pid}` });
    const workerRun = worker.run();
    workerRun.catch((error: unknown) => {
      logger.error({ err: error }, 'worker failed');
    });
    running.push({
      name: 'the worker',
      stop: async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await withTimeout(workerRun, WORKER_STOP_TIMEOUT_MS, 'the worker shutdown');
      },
    });

    const connection = await Connection.connect({ address: temporal.address });
    running.push({ name: 'the Temporal client', stop: () => connection.close() });
    const apiPort = await choosePort('api', ports.api, portNotes);
    progress(`starting the API on port ${apiPort}`);
    const api = await startApiServer(createApiDeps({ pool, catalog, ledger, client: new Client({ connection, namespace }), taskQueue, tokens, sessionSecret, widgetOrigins: options.widgetOrigins ?? [], logger }), {
      port: apiPort,
      hostname: BIND_IP,
    });
    running.push({ name: 'the API', stop: () => api.close() });

    let demo: DemoSeed | null = null;
    let demoSkipped: string | null = null;
    if (options.seed ?? true) {
      const problem = demoCatalogProblem(catalog);
      if (problem === null) {
        progress(`seeding the demo: account "${DEMO.accountId}", job "${DEMO.jobId}"`);
        demo = await seedDemo(createCreditsClient({ baseUrl: api.url, token }));
      } else {
        demoSkipped = `the catalog ${options.catalogPath ?? EXAMPLE_CATALOG_PATH} cannot hold it: ${problem}`;
      }
    }
    if (gaveUpDuringStartUp) throw gaveUpDuringStartUp;
    writeDevStackState(dataDir, { pid: process.pid, databaseUrl: database.url });
    up = true;

    return {
      urls: {
        api: api.url,
        openapi: `${api.url}/openapi.json`,
        docs: `${api.url}/docs`,
        console: `${api.url}/console`,
        temporalAddress: temporal.address,
        temporalUi: temporal.uiUrl,
        demoWorkflows: temporal.uiUrl === null || demo === null ? null : temporalUiWorkflowsUrl(temporal.uiUrl, namespace, `AccountId="${DEMO.accountId}"`),
        database: database.url,
      },
      token,
      tokenSource: tokenFile === null ? 'option' : 'file',
      tokenFile,
      dataDir,
      ports: { api: api.port, temporal: temporal.port, temporalUi: temporal.uiPort, postgres: database.port },
      portNotes,
      demo,
      demoSkipped,
      planIds: [...catalog.plans.keys()],
      stop,
      failed,
    };
  } catch (error) {
    await stop().catch((stopError: unknown) => {
      logger.error({ err: stopError }, 'could not stop what had started');
    });
    throw error;
  }
}
