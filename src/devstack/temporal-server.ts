/**
 * The real Temporal server (go.temporal.io/server, the server of the temporalio/server image) on
 * PostgreSQL, as a child process: its two databases created and migrated with its own SQL tool,
 * a config file written from the settings (history shards, ports), the namespace registered.
 * Built once by `scripts/install-temporal-server.sh` into `.tools/temporal-server/<version>`.
 */
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { status as grpcStatus } from '@grpc/grpc-js';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { msToTs } from '@temporalio/common/lib/time.js';
import { stringify } from 'yaml';
import { spawnChildServer, waitUntilReady, type ChildServer } from './child-server.js';
import { createDatabase } from './postgres.js';
import { portIsFree } from './temporal-dev-server.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface TemporalServerOptions {
  /** The server's version, as deploy/production.env gives it ("1.32.2"). */
  version: string;
  /** Where its config file and logs go. */
  dataDir: string;
  /** The PostgreSQL server (a URL of its maintenance database, with a role that may create databases). */
  postgresUrl: string;
  /** History shards: fixed for the cluster's life (the schema records it). */
  shards: number;
  namespace: string;
  /** How long closed workflows are kept. */
  retentionDays: number;
  /** The frontend's gRPC port; the other services take free ports. */
  port?: number;
  log?: (line: string) => void;
  detached?: boolean;
  startTimeoutMs?: number;
  /**
   * Mutual TLS on the frontend: its certificate and key, the CA that signed them and the clients'
   * certificates, and a client certificate for the server's own system workers (and the probe).
   */
  tls?: FrontendTls;
}

export interface FrontendTls {
  caFile: string;
  certFile: string;
  keyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** The name in the server's certificate. */
  serverName: string;
}

export interface RunningTemporalServer {
  address: string;
  namespace: string;
  server: ChildServer;
  stop: () => Promise<void>;
  /** Stops the server and starts it again with the same config file: the same ports, the same databases. */
  restart: () => Promise<RunningTemporalServer>;
}

/** Builds the server and its SQL tool unless they are built already (minutes the first time). */
export function installTemporalServer(version: string, log: (line: string) => void): { server: string; sqlTool: string; schemaDir: string } {
  const toolsDir = join(REPO_ROOT, '.tools', 'temporal-server', `v${version}`);
  const paths = { server: join(toolsDir, 'bin', 'server'), sqlTool: join(toolsDir, 'bin', 'temporal-sql-tool'), schemaDir: join(toolsDir, 'schema', 'postgresql', 'v12') };
  if (!existsSync(paths.server) || !existsSync(paths.sqlTool) || !existsSync(paths.schemaDir)) {
    log(`building the Temporal server ${version} once (scripts/install-temporal-server.sh, a few minutes)`);
    const built = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'install-temporal-server.sh')], { stdio: 'inherit' });
    if (built.status !== 0 || !existsSync(paths.server)) throw new Error('scripts/install-temporal-server.sh failed: see its output above');
  }
  return paths;
}

function postgresEndpoint(postgresUrl: string): { host: string; port: string; user: string; password: string } {
  const url = new URL(postgresUrl);
  return { host: url.hostname, port: url.port || '5432', user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
}

/** Creates (if missing) and migrates Temporal's persistence and visibility databases. */
function migrateSchemas(sqlTool: string, schemaDir: string, postgresUrl: string, log: (line: string) => void): void {
  const endpoint = postgresEndpoint(postgresUrl);
  const base = ['--plugin', 'postgres12', '--ep', endpoint.host, '-p', endpoint.port, '-u', endpoint.user, '--pw', endpoint.password];
  for (const [database, versioned] of [['temporal', 'temporal'], ['temporal_visibility', 'visibility']] as const) {
    for (const command of [['setup-schema', '-v', '0.0'], ['update-schema', '-d', join(schemaDir, versioned, 'versioned')]]) {
      const run = spawnSync(sqlTool, [...base, '--db', database, ...command], { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`temporal-sql-tool ${command[0]} on ${database} failed:\n${run.stderr || run.stdout}`);
    }
    log(`Temporal schema of ${database} is up to date`);
  }
}

/**
 * A free port below 32768: the server records its services' ports in a PostgreSQL smallint
 * (cluster_membership), so the kernel's ephemeral ports (32768 and up) do not fit.
 */
async function freeServicePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + randomInt(12_000);
    if (await portIsFree('127.0.0.1', port)) return port;
  }
  throw new Error('no free port between 20000 and 32000');
}

async function serverConfig(options: TemporalServerOptions, frontendPort: number): Promise<Record<string, unknown>> {
  const endpoint = postgresEndpoint(options.postgresUrl);
  const store = (databaseName: string, maxConns: number) => ({
    sql: { pluginName: 'postgres12', databaseName, connectAddr: `${endpoint.host}:${endpoint.port}`, connectProtocol: 'tcp', user: endpoint.user, password: endpoint.password, maxConns, maxIdleConns: maxConns, maxConnLifetime: '1h' },
  });
  const service = async (grpcPort: number) => ({ rpc: { grpcPort, membershipPort: await freeServicePort(), bindOnLocalHost: true } });
  return {
    log: { stdout: true, level: 'warn' },
    persistence: { defaultStore: 'default', visibilityStore: 'visibility', numHistoryShards: options.shards, datastores: { default: store('temporal', 20), visibility: store('temporal_visibility', 10) } },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' }, ...(options.tls ? { tls: frontendTls(options.tls) } : {}) },
    services: {
      frontend: { rpc: { ...(await service(frontendPort)).rpc, httpPort: await freeServicePort() } },
      history: await service(await freeServicePort()),
      matching: await service(await freeServicePort()),
      worker: await service(await freeServicePort()),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${frontendPort}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
  };
}

function frontendTls(tls: FrontendTls): Record<string, unknown> {
  const client = { serverName: tls.serverName, rootCaFiles: [tls.caFile] };
  return {
    frontend: { server: { certFile: tls.certFile, keyFile: tls.keyFile, requireClientAuth: true, clientCaFiles: [tls.caFile] }, client },
    systemWorker: { certFile: tls.clientCertFile, keyFile: tls.clientKeyFile, client },
  };
}

/** How this process reaches the frontend: in plain text, or with the client certificate. */
function probeConnection(address: string, tls: FrontendTls | undefined): Parameters<typeof Connection.connect>[0] {
  if (!tls) return { address, connectTimeout: '5s' };
  return {
    address,
    connectTimeout: '5s',
    tls: {
      serverNameOverride: tls.serverName,
      serverRootCACertificate: readFileSync(tls.caFile),
      clientCertPair: { crt: readFileSync(tls.clientCertFile), key: readFileSync(tls.clientKeyFile) },
    },
  };
}

const { TaskQueueType } = proto.temporal.api.enums.v1;

/** A task queue nothing polls: describing it needs the matching service, not only the frontend. */
const READINESS_TASK_QUEUE = 'credits-devstack-readiness';

/**
 * Registers the namespace unless it exists; ready once every service knows it (a new namespace
 * reaches the other services' caches a few seconds after it is registered) and matching has joined
 * the ring: until then the frontend answers for the namespace but workers' polls and every task
 * queue call get "Not enough hosts to serve the request".
 */
async function registerNamespace(connectTo: Parameters<typeof Connection.connect>[0], namespace: string, retentionDays: number): Promise<void> {
  const connection = await Connection.connect(connectTo);
  try {
    try {
      await connection.workflowService.describeNamespace({ namespace });
    } catch (error) {
      if ((error as { code?: number }).code !== grpcStatus.NOT_FOUND) throw error;
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(`${retentionDays} days`) });
    }
    await connection.operatorService.listSearchAttributes({ namespace });
    await connection.workflowService.describeTaskQueue({ namespace, taskQueue: { name: READINESS_TASK_QUEUE }, taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW });
  } finally {
    await connection.close();
  }
}

/** Starts the server and resolves once its frontend answers for the namespace. */
export async function startTemporalServer(options: TemporalServerOptions): Promise<RunningTemporalServer> {
  const log = options.log ?? (() => undefined);
  const { server: executable, sqlTool, schemaDir } = installTemporalServer(options.version, log);
  for (const database of ['temporal', 'temporal_visibility']) await createDatabase(options.postgresUrl, database);
  migrateSchemas(sqlTool, schemaDir, options.postgresUrl, log);
  const port = options.port ?? (await freeServicePort());
  mkdirSync(options.dataDir, { recursive: true });
  const configFile = join(options.dataDir, 'temporal-server.yaml');
  writeFileSync(configFile, stringify(await serverConfig(options, port)));
  return launch(options, executable, configFile, `127.0.0.1:${port}`);
}

/**
 * Runs the server on a config file written before. A restart reuses it on purpose: the membership
 * table still lists the stopped process's service addresses, and a server whose every seed is dead
 * does not serve ("Not enough hosts to serve the request") until ringpop gives up joining them
 * (maxJoinDuration, 30 s, then again): 40 s in one run of test-prod, over 3 minutes in another.
 * On the same ports, its seeds are itself.
 */
async function launch(options: TemporalServerOptions, executable: string, configFile: string, address: string): Promise<RunningTemporalServer> {
  const server = spawnChildServer({
    name: `Temporal server ${options.version} (${address}, ${options.shards} shards)`,
    executable,
    args: ['--config-file', configFile, '--allow-no-auth', 'start'],
    detached: options.detached ?? false,
    ...(options.log ? { log: options.log } : {}),
  });
  await waitUntilReady(
    server,
    async () => {
      await registerNamespace(probeConnection(address, options.tls), options.namespace, options.retentionDays);
    },
    options.startTimeoutMs ?? 90_000,
  );
  const stop = (): Promise<void> => server.stop(30_000);
  return {
    address,
    namespace: options.namespace,
    server,
    stop,
    restart: async () => {
      await stop();
      return launch(options, executable, configFile, address);
    },
  };
}
