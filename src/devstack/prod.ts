/**
 * The production topology on one machine, without Docker: PostgreSQL (embedded, or DATABASE_URL's
 * server) holding Temporal's two databases and the ledger; the real Temporal server with several
 * history shards; `CREDITS_WORKERS` worker processes; `CREDITS_APIS` API processes, each on its own
 * port, behind one port (src/devstack/api-proxy.ts); the Temporal Web UI. Settings: deploy/production.env, the file
 * docker-compose.yml reads too. Stops in order: proxy, APIs, workers, Temporal, PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { Connection } from '@temporalio/client';
import { registerSearchAttributes } from '../temporal/search-attributes.js';
import { WORKER_LAUNCHER, WORKER_STARTED } from '../worker/process.js';
import { startApiProxy, type ApiProxy } from './api-proxy.js';
import { spawnChildServer, waitUntilReady, type ChildServer } from './child-server.js';
import { createDatabase, freePort, startEmbeddedPostgres, type RunningPostgres } from './postgres.js';
import { startTemporalServer, type RunningTemporalServer } from './temporal-server.js';
import { startTemporalUi } from './temporal-ui.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PRODUCTION_SETTINGS_FILE = join(REPO_ROOT, 'deploy', 'production.env');

export interface ProductionSettings {
  temporalServerVersion: string;
  temporalUiVersion: string;
  shards: number;
  namespace: string;
  retentionDays: number;
  taskQueue: string;
  workers: number;
  apis: number;
  /** Passed to every worker and API process as they are (WORKER_*; WORKER_HEAP_MB is read by the workers' launcher). */
  processEnv: Record<string, string>;
}

function positive(env: Record<string, string | undefined>, name: string): number {
  const value = Number(env[name]);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${PRODUCTION_SETTINGS_FILE}: ${name} must be a positive integer, got "${String(env[name])}"`);
  return value;
}

export function readProductionSettings(file = PRODUCTION_SETTINGS_FILE): ProductionSettings {
  const env = parseEnv(readFileSync(file, 'utf8'));
  return {
    temporalServerVersion: env.TEMPORAL_SERVER_VERSION ?? '',
    temporalUiVersion: env.TEMPORAL_UI_VERSION ?? '',
    shards: positive(env, 'NUM_HISTORY_SHARDS'),
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    retentionDays: positive(env, 'TEMPORAL_RETENTION_DAYS'),
    taskQueue: env.TEMPORAL_TASK_QUEUE ?? 'credits',
    workers: positive(env, 'CREDITS_WORKERS'),
    apis: positive(env, 'CREDITS_APIS'),
    processEnv: Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[0].startsWith('WORKER_') && entry[1] !== undefined)),
  };
}

export interface ProductionStackOptions {
  dataDir: string;
  settings?: ProductionSettings;
  /** A PostgreSQL server whose role may create databases; the embedded one when omitted. */
  postgresUrl?: string;
  /** The one port in front of the APIs; a free one when 0 or omitted. */
  apiPort?: number;
  temporalPort?: number;
  /** The Temporal Web UI's port; a free one when 0 or omitted. */
  temporalUiPort?: number;
  apiTokens: string[];
  /** More environment for the worker and API processes (a test's provider latency, say). */
  processEnv?: Record<string, string>;
  /** Every line the servers print, with the server's name. */
  log?: (server: string, line: string) => void;
  /** Start-up steps, for the banner. */
  progress?: (step: string) => void;
}

export interface ProductionStack {
  apiUrl: string;
  apiUrls: string[];
  temporalAddress: string;
  temporalUiUrl: string;
  databaseUrl: string;
  postgres: RunningPostgres | null;
  temporal: RunningTemporalServer;
  workers: ChildServer[];
  apis: ChildServer[];
  settings: ProductionSettings;
  /** Starts worker `index` again (after a test killed it). */
  restartWorker: (index: number) => Promise<ChildServer>;
  /** Stops the Temporal server and starts it again on the same ports and databases. */
  restartTemporal: () => Promise<void>;
  /** Stops PostgreSQL (fast shutdown) and, after `downMs`, starts it again on the same data and port (embedded only). */
  restartPostgres: (downMs: number) => Promise<void>;
  stop: () => Promise<void>;
}

const NODE_WITH_TSX = [process.execPath, '--import', 'tsx'] as const;

export async function startProductionStack(options: ProductionStackOptions): Promise<ProductionStack> {
  const settings = options.settings ?? readProductionSettings();
  const progress = options.progress ?? (() => undefined);
  const log = options.log ?? (() => undefined);
  const stoppers: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const stopOne of stoppers.splice(0).reverse()) await stopOne().catch(() => undefined);
  };
  try {
    progress('PostgreSQL');
    const startPostgres = (port?: number) =>
      startEmbeddedPostgres({ dataDir: join(options.dataDir, 'postgres'), detached: true, ...(port ? { port } : {}), log: (line) => { log('postgres', line); } });
    let postgres = options.postgresUrl ? null : await startPostgres();
    if (postgres) stoppers.push(() => postgres?.stop() ?? Promise.resolve());
    const postgresUrl = options.postgresUrl ?? postgres?.url ?? '';
    const databaseUrl = await createDatabase(postgresUrl, 'credits');

    progress(`Temporal server ${settings.temporalServerVersion} (${settings.shards} history shards)`);
    let temporal = await startTemporalServer({
      version: settings.temporalServerVersion,
      dataDir: join(options.dataDir, 'temporal'),
      postgresUrl,
      shards: settings.shards,
      namespace: settings.namespace,
      retentionDays: settings.retentionDays,
      ...(options.temporalPort ? { port: options.temporalPort } : {}),
      detached: true,
      log: (line) => { log('temporal', line); },
    });
    stoppers.push(() => temporal.stop());
    progress(`Temporal Web UI ${settings.temporalUiVersion}`);
    const ui = await startTemporalUi({
      version: settings.temporalUiVersion,
      temporalAddress: temporal.address,
      namespace: settings.namespace,
      port: options.temporalUiPort || (await freePort()),
      dataDir: options.dataDir,
      log: (line) => {
        log('temporal-ui', line);
      },
    });
    stoppers.push(() => ui.server.stop());
    const connection = await Connection.connect({ address: temporal.address });
    try {
      await registerSearchAttributes(connection, settings.namespace);
    } finally {
      await connection.close();
    }

    const processEnv = {
      ...process.env,
      // The API processes behind the proxy check each other's session tokens: one secret for the
      // stack, a new one at each start unless SESSION_TOKEN_SECRET is set.
      SESSION_TOKEN_SECRET: process.env.SESSION_TOKEN_SECRET ?? randomBytes(32).toString('base64url'),
      ...settings.processEnv,
      ...options.processEnv,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: settings.namespace,
      TEMPORAL_TASK_QUEUE: settings.taskQueue,
      API_TOKENS: options.apiTokens.join(','),
    };
    const startWorker = async (index: number): Promise<ChildServer> => {
      // Told by its log line as it comes, not looked for in the last lines kept, which may have moved past it.
      let polls = false;
      const worker = spawnChildServer({
        name: `worker ${index + 1}`,
        executable: 'sh',
        args: [WORKER_LAUNCHER],
        env: processEnv,
        detached: true,
        log: (line) => {
          if (line.includes(`"msg":"${WORKER_STARTED}"`)) polls = true;
          log(`worker-${index + 1}`, line);
        },
      });
      const polling = (): Promise<void> => (polls ? Promise.resolve() : Promise.reject(new Error('not polling yet')));
      await waitUntilReady(worker, polling, 180_000);
      return worker;
    };
    progress(`${settings.workers} workers`);
    const workers: ChildServer[] = [];
    // One after the other: each bundles its workflows (webpack) and migrates the ledger as it starts.
    for (let index = 0; index < settings.workers; index++) workers.push(await startWorker(index));
    stoppers.push(() => Promise.all(workers.map((worker) => worker.stop(60_000))).then(() => undefined));

    progress(`${settings.apis} API processes`);
    const apiUrls: string[] = [];
    const apis: ChildServer[] = [];
    for (let index = 0; index < settings.apis; index++) {
      const port = await freePort();
      const api = spawnChildServer({ name: `API ${index + 1} (port ${port})`, executable: NODE_WITH_TSX[0], args: [...NODE_WITH_TSX.slice(1), join(REPO_ROOT, 'src/api/main.ts')], env: { ...processEnv, PORT: String(port) }, detached: true, log: (line) => { log(`api-${index + 1}`, line); } });
      const url = `http://127.0.0.1:${port}`;
      await waitUntilReady(api, async () => { const answer = await fetch(`${url}/health`); if (!answer.ok) throw new Error(`health ${answer.status}`); }, 120_000);
      apis.push(api);
      apiUrls.push(url);
    }
    stoppers.push(() => Promise.all(apis.map((api) => api.stop(30_000))).then(() => undefined));
    const proxy: ApiProxy = await startApiProxy(options.apiPort ?? 0, apiUrls);
    stoppers.push(proxy.stop);

    return {
      apiUrl: proxy.url,
      apiUrls,
      temporalAddress: temporal.address,
      temporalUiUrl: ui.url,
      databaseUrl,
      postgres,
      get temporal() {
        return temporal;
      },
      workers,
      apis,
      settings,
      restartWorker: async (index) => {
        const worker = await startWorker(index);
        workers[index] = worker;
        return worker;
      },
      restartTemporal: async () => {
        temporal = await temporal.restart();
      },
      restartPostgres: async (downMs) => {
        if (!postgres) throw new Error('PostgreSQL is not embedded here (DATABASE_URL): restart it yourself');
        const { port } = postgres;
        await postgres.stop();
        await new Promise((resolve) => setTimeout(resolve, downMs));
        postgres = await startPostgres(port);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
