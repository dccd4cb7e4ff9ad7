/**
 * Starts the Temporal CLI's development server (`temporal server start-dev`) as a child process:
 * a complete single-process Temporal service (frontend, history, matching, SQLite persistence and,
 * unless headless, the Web UI). Used by the dev stack and the benchmarks; the test suite uses the
 * SDK's `TestWorkflowEnvironment` instead.
 *
 * ```ts
 * const temporal = await startTemporalDevServer({ dbFile: '.data/temporal.sqlite' });
 * // … connect to temporal.address, open temporal.uiUrl …
 * await temporal.stop();
 * ```
 *
 * The project's search attributes (`workflows/search-attributes.ts`) are registered at launch, so
 * workflows can be started with them at once. The binary is `temporalCliPath()` (`npm run
 * tools:install`, or `TEMPORAL_CLI_PATH`).
 */
import { createServer } from 'node:net';
import { Connection } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { freePort } from './postgres.js';
import { ExitedDuringStartupError, spawnChildServer, waitUntilReady } from './child-server.js';
import type { ServerExit } from './supervise.js';
import { temporalCliPath } from './temporal-binaries.js';

/** A search attribute to register (what `defineSearchAttributeKey` returns). */
export interface SearchAttributeDefinition {
  name: string;
  type: SearchAttributeType;
}

export interface TemporalDevServerOptions {
  /** Port of the gRPC frontend (what workers and clients connect to); a free port when omitted. */
  port?: number;
  /** Port of the Web UI; a free port when omitted. Ignored when `headless`. */
  uiPort?: number;
  /** No Web UI: saves memory and CPU where nobody looks at it (benchmarks, CI). */
  headless?: boolean;
  /** Address the frontend and the UI bind to. Default 127.0.0.1 (this machine only). */
  ip?: string;
  /**
   * SQLite file that keeps workflows across restarts (created if missing). When omitted, the state
   * lives in memory and is lost when the server stops.
   */
  dbFile?: string;
  /** SQLite pragmas (`--sqlite-pragma NAME=VALUE`), e.g. `{ journal_mode: 'wal', synchronous: 'normal' }` for a file. */
  sqlitePragmas?: Readonly<Record<string, string>>;
  /** Port of the Prometheus `/metrics` endpoint; a random free one (chosen by the server) when omitted. */
  metricsPort?: number;
  /** A namespace to create at launch besides `default` (which always exists). Default `default`. */
  namespace?: string;
  /** Search attributes registered at launch. Default: the project's `SEARCH_ATTRIBUTES`. */
  searchAttributes?: readonly SearchAttributeDefinition[];
  /** Dynamic configuration (`--dynamic-config-value KEY=JSON`), e.g. `{ 'frontend.namespaceRPS': 10000 }`. */
  dynamicConfig?: Readonly<Record<string, unknown>>;
  /** Server log level. Default `warn`. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Receives every line the server prints (stdout and stderr). The last lines also go into start-up errors. */
  log?: (line: string) => void;
  /** How long to wait for the server to accept connections. Default 30 s. */
  startTimeoutMs?: number;
  /** The `temporal` binary. Default `temporalCliPath()`. */
  executable?: string;
  /**
   * Runs the server in a process group of its own. A Ctrl-C in a terminal signals the whole
   * foreground group at once; a detached server does not get it, so the launcher can stop its
   * workers first and the server after them (`stop`).
   */
  detached?: boolean;
}

export interface RunningTemporalDevServer {
  /** `host:port` of the gRPC frontend, as TEMPORAL_ADDRESS expects it. */
  address: string;
  namespace: string;
  /** The Web UI, or null when headless. */
  uiUrl: string | null;
  /** Process id of the server (for resource sampling). */
  pid: number;
  /** Settles when the server exits, whatever the reason (`stop` included). */
  exited: Promise<ServerExit>;
  /** SIGTERM, then SIGKILL if the server has not exited after `timeoutMs` (default 10 s). Idempotent. */
  stop: (timeoutMs?: number) => Promise<void>;
}

/** The CLI's names for search attribute types (`--search-attribute Name=Type`). */
const CLI_TYPE: Record<SearchAttributeType, string> = {
  [SearchAttributeType.TEXT]: 'Text',
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.DOUBLE]: 'Double',
  [SearchAttributeType.BOOL]: 'Bool',
  [SearchAttributeType.DATETIME]: 'Datetime',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
};

/**
 * Whether nothing listens on `ip:port`. Checked before launching: otherwise a server already on the
 * port would answer the readiness probe while the new one fails to bind and exits.
 */
export function portIsFree(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, ip, () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

/** The command-line arguments of `temporal server start-dev` for these options. */
export function devServerArgs(options: {
  ip: string;
  port: number;
  uiPort: number | null;
  namespace: string;
  dbFile?: string | undefined;
  sqlitePragmas?: Readonly<Record<string, string>> | undefined;
  metricsPort?: number | undefined;
  searchAttributes: readonly SearchAttributeDefinition[];
  dynamicConfig: Readonly<Record<string, unknown>>;
  logLevel: string;
}): string[] {
  const args = ['server', 'start-dev', '--ip', options.ip, '--port', String(options.port), '--log-level', options.logLevel, '--namespace', options.namespace];
  if (options.uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort));
  if (options.dbFile !== undefined) args.push('--db-filename', options.dbFile);
  for (const [name, value] of Object.entries(options.sqlitePragmas ?? {})) args.push('--sqlite-pragma', `${name}=${value}`);
  if (options.metricsPort !== undefined) args.push('--metrics-port', String(options.metricsPort));
  for (const key of options.searchAttributes) args.push('--search-attribute', `${key.name}=${CLI_TYPE[key.type]}`);
  for (const [key, value] of Object.entries(options.dynamicConfig)) args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  return args;
}

/**
 * The CLI picks its internal services' ports itself, and rarely one of them is taken by the time it
 * binds it: it panics at start-up ("bind: address already in use", exit code 2). A second start
 * picks other ports.
 */
const DEV_SERVER_START_ATTEMPTS = 2;

/**
 * Starts `temporal server start-dev` and resolves once its frontend answers for the namespace.
 * Rejects (and kills the server) if it does not answer within `startTimeoutMs`, or if it exits
 * during start-up on each of DEV_SERVER_START_ATTEMPTS starts.
 */
export async function startTemporalDevServer(options: TemporalDevServerOptions = {}): Promise<RunningTemporalDevServer> {
  const ip = options.ip ?? '127.0.0.1';
  const port = options.port ?? (await freePort());
  const uiPort = options.headless ? null : (options.uiPort ?? (await freePort()));
  const namespace = options.namespace ?? 'default';
  for (const [what, value] of [['port', port], ['uiPort', uiPort]] as const) {
    if (value !== null && !(await portIsFree(ip, value))) throw new Error(`Temporal dev server: ${what} ${value} on ${ip} is already in use`);
  }
  const host = ip.includes(':') ? `[${ip}]` : ip;
  const address = `${host}:${port}`;
  const args = devServerArgs({
    ip,
    port,
    uiPort,
    namespace,
    dbFile: options.dbFile,
    sqlitePragmas: options.sqlitePragmas,
    metricsPort: options.metricsPort,
    searchAttributes: options.searchAttributes ?? SEARCH_ATTRIBUTES,
    dynamicConfig: options.dynamicConfig ?? {},
    logLevel: options.logLevel ?? 'warn',
  });

  for (let attempt = 1; ; attempt++) {
    const server = spawnChildServer({
      name: `Temporal dev server (${args.join(' ')})`,
      executable: options.executable ?? temporalCliPath(),
      args,
      detached: options.detached ?? false,
      ...(options.log ? { log: options.log } : {}),
    });
    try {
      await waitUntilReady(
        server,
        async () => {
          const connection = await Connection.connect({ address, connectTimeout: '2s' });
          try {
            await connection.workflowService.describeNamespace({ namespace });
          } finally {
            await connection.close();
          }
        },
        options.startTimeoutMs ?? 30_000,
      );
      return { address, namespace, uiUrl: uiPort === null ? null : `http://${host}:${uiPort}`, pid: server.pid, exited: server.exited, stop: server.stop };
    } catch (error) {
      if (attempt >= DEV_SERVER_START_ATTEMPTS || !(error instanceof ExitedDuringStartupError)) throw error;
      options.log?.(`${error.message.split('\n')[0] ?? ''}; starting it once more`);
    }
  }
}
