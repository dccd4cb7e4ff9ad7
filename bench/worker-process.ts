import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type pg from 'pg';
import { databaseUrl as postgresDatabaseUrl } from '../src/devstack/postgres.js';
import { readProductionSettings } from '../src/devstack/prod.js';
import { startTemporalDevServer } from '../src/devstack/temporal-dev-server.js';
import { startTemporalServer } from '../src/devstack/temporal-server.js';
import { registerSearchAttributes } from '../src/temporal/search-attributes.js';
import { WORKER_LAUNCHER, WORKER_STARTED } from '../src/worker/process.js';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
import type { BenchContext } from './harness.js';

/**
 * The worker of the benchmarks that measure one (job.enrich.*, rollover.*), run as a child process,
 * and the teardown of what such a benchmark starts around it.
 */

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
/** Lines of the worker's output kept, to show when it fails. */
const TAIL_LINES = 40;
/** Warnings and errors shown without BENCH_VERBOSE: enough to see what went wrong, not a flood. */
const FORWARDED_WARNINGS = 20;
/** How long a stopping worker gets to finish its in-flight tasks before it is killed. */
const STOP_GRACE_MS = 30_000;

/** One line of the worker's output; `level` (pino's: 40 warn, 50 error) and `msg` when it is a JSON log line. */
export interface OutputLine {
  text: string;
  level?: number;
  msg?: string;
}

/** How the worker says it has started (it polls its task queue from then on). */
export type Readiness =
  /**
   * It sends an IPC message `{ ready }` (`process.send`); the IPC channel is opened only for this,
   * and lets the child notice ('disconnect') that this process went away.
   */
  | { kind: 'ipc' }
  /** A line of its output matches; `what` names that line in the error when it never comes. */
  | { kind: 'line'; what: string; matches: (line: OutputLine) => boolean };

export interface WorkerProcessOptions {
  /** What runs: an entry file and its arguments, after `node --import tsx`; or a launcher script that execs node itself (`scripts/worker.sh`). */
  command: { entry: readonly string[] } | { launcher: string };
  /** Added to this process's environment. */
  env: Record<string, string>;
  ready: Readiness;
  /** From the spawn until ready; then the start fails (with the worker's last output). */
  startTimeoutMs: number;
  log: (message: string) => void;
  /** Show every line of the worker's output, not only its first warnings and errors. */
  verbose: boolean;
}

export interface WorkerProcess {
  pid: number;
  /** Rejects if the worker exits before `stop`: race it against whatever waits on the worker. */
  exited: Promise<never>;
  /** The worker's last lines of output, for errors. */
  tail: () => string;
  /** SIGTERM (the worker finishes its in-flight tasks), SIGKILL if it has not exited STOP_GRACE_MS later. */
  stop: () => Promise<void>;
}

function parseLine(text: string): OutputLine {
  if (text.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null) {
        const { level, msg } = parsed as { level?: unknown; msg?: unknown };
        return { text, level: typeof level === 'number' ? level : 0, ...(typeof msg === 'string' ? { msg } : {}) };
      }
    } catch {
      // not JSON after all: plain text
    }
  }
  return { text };
}

/**
 * A warning or an error: a JSON (pino) line by its level; a plain one (the Temporal SDK's logger,
 * Node's own messages, a stack trace) when it says WARN or ERROR or names an Error.
 */
function isWarning(line: OutputLine): boolean {
  return line.level !== undefined ? line.level >= 40 : /\b(WARN|ERROR)\b|Error/.test(line.text);
}

/**
 * BENCH_CPU_PROF_DIR: each process a benchmark starts (API, worker) writes V8 CPU profiles into that
 * directory when it exits, one per thread (a worker's workflow threads too), for Chrome DevTools or
 * any `.cpuprofile` reader. Profiling slows what it measures: use it to find where the time goes,
 * not for the figures.
 */
function cpuProfileArgs(): string[] {
  const directory = process.env.BENCH_CPU_PROF_DIR;
  return directory ? ['--cpu-prof', `--cpu-prof-dir=${resolve(directory)}`] : [];
}

/**
 * Starts the worker: node with the tsx loader and no intermediate process (no npx, no tsx CLI; a
 * launcher replaces itself with node), so that the pid's memory and CPU are the worker's alone.
 * Resolves once it is ready; if it exits or times out first, it is stopped and the start fails with
 * its last output.
 */
export async function startWorkerProcess(options: WorkerProcessOptions): Promise<WorkerProcess> {
  const { ready, log, verbose, command } = options;
  const [executable, args] = 'launcher' in command ? ['sh', [command.launcher, ...cpuProfileArgs()]] : [process.execPath, ['--import', 'tsx', ...cpuProfileArgs(), ...command.entry]];
  const child = spawn(executable, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ready.kind === 'ipc' ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  let onReady: () => void = () => undefined;
  const isReady = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  const recent: string[] = [];
  let forwarded = 0;
  const onLine = (text: string): void => {
    recent.push(text);
    if (recent.length > TAIL_LINES) recent.shift();
    const line = parseLine(text);
    if (ready.kind === 'line' && ready.matches(line)) onReady();
    if (verbose || (isWarning(line) && forwarded++ < FORWARDED_WARNINGS)) log(`worker: ${text}`);
  };
  if (child.stdout) createInterface({ input: child.stdout }).on('line', onLine);
  if (child.stderr) createInterface({ input: child.stderr }).on('line', onLine);
  if (ready.kind === 'ipc') {
    child.on('message', (message) => {
      if (typeof message === 'object' && 'ready' in message) onReady();
    });
  }
  const tail = (): string => recent.join('\n');

  let stopping = false;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    });
  });
  const exited = exit.then(({ code, signal }) => {
    if (stopping) return new Promise<never>(() => undefined);
    throw new Error(`the worker exited (${code !== null ? `code ${code}` : `signal ${String(signal)}`}); its last output:\n${tail()}`);
  });
  exited.catch(() => undefined); // observed where it matters; never an unhandled rejection
  const stop = async (): Promise<void> => {
    stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    // Unreferenced timers here and below: a pending one must not keep the bench alive once it is done.
    const outcome = await Promise.race([exit, sleep(STOP_GRACE_MS, 'timeout' as const, { ref: false })]);
    if (outcome === 'timeout') {
      log(`worker: no exit ${STOP_GRACE_MS / 1000} s after SIGTERM; killing it`);
      child.kill('SIGKILL');
      await exit;
    }
  };
  const timeout = sleep(options.startTimeoutMs, undefined, { ref: false }).then(() => {
    const what = ready.kind === 'ipc' ? 'report ready (IPC)' : `log ${ready.what}`;
    throw new Error(`the worker did not ${what} within ${options.startTimeoutMs / 1000} s; its last output:\n${tail()}`);
  });
  try {
    await Promise.race([isReady, exited, timeout]);
  } catch (error) {
    await stop();
    throw error;
  }
  if (child.pid === undefined) throw new Error('the worker has no process id');
  return { pid: child.pid, exited, tail, stop };
}

/**
 * The `finally` of a worker benchmark: stops whatever got started, in this order: the bench's
 * client connection, the worker (its shutdown still talks to the dev server), the dev server, the
 * bench's pool, and last the directory the processes read from (workflow bundle, catalog, the dev
 * server's SQLite file).
 */
export async function stopWorkerBench(started: {
  connection: Connection | undefined;
  worker: WorkerProcess | undefined;
  temporal: { stop: () => Promise<unknown> } | undefined;
  pool: pg.Pool;
  directory: string;
}): Promise<void> {
  await started.connection?.close().catch(() => undefined);
  await started.worker?.stop();
  await started.temporal?.stop();
  await started.pool.end();
  rmSync(started.directory, { recursive: true, force: true });
}

/** Which Temporal a worker benchmark runs on: BENCH_TEMPORAL=dev (the CLI's dev server, default) or server (the real one). */
export type BenchTemporalKind = 'dev' | 'server';

export function benchTemporalKind(): BenchTemporalKind {
  const kind = process.env.BENCH_TEMPORAL ?? 'dev';
  if (kind !== 'dev' && kind !== 'server') throw new Error(`BENCH_TEMPORAL must be dev or server, got "${kind}"`);
  return kind;
}

export interface BenchTemporal {
  kind: BenchTemporalKind;
  address: string;
  namespace: string;
  pid: number;
  /** For the banner: "Temporal dev server (in memory)" or "Temporal server 1.32.2 (16 history shards)". */
  description: string;
  stop: () => Promise<void>;
}

/**
 * The real Temporal server of the production topology (deploy/production.env: version, shards) on
 * the benchmark's PostgreSQL server, with the project's search attributes registered and visible.
 */
export async function startRealTemporalForBench(databaseUrl: string, directory: string, log: (line: string) => void): Promise<BenchTemporal> {
  const settings = readProductionSettings();
  const temporal = await startTemporalServer({
    version: settings.temporalServerVersion,
    dataDir: join(directory, 'temporal-server'),
    postgresUrl: postgresDatabaseUrl(databaseUrl, 'postgres'),
    shards: settings.shards,
    namespace: settings.namespace,
    retentionDays: 1,
    log,
  });
  const connection = await Connection.connect({ address: temporal.address });
  try {
    await registerSearchAttributes(connection, settings.namespace);
    // Added attributes reach every service's cache a little later.
    for (let attempt = 0; ; attempt++) {
      const listed = await connection.operatorService.listSearchAttributes({ namespace: settings.namespace });
      if (SEARCH_ATTRIBUTES.every((key) => key.name in listed.customAttributes)) break;
      if (attempt > 150) throw new Error('the search attributes did not become visible in 30 s');
      await sleep(200);
    }
  } finally {
    await connection.close();
  }
  return {
    kind: 'server',
    address: temporal.address,
    namespace: settings.namespace,
    pid: temporal.server.pid,
    description: `Temporal server ${settings.temporalServerVersion} (${settings.shards} history shards, on PostgreSQL)`,
    stop: temporal.stop,
  };
}

/** The real worker (`src/worker/main.ts`) migrates the database and bundles its workflows (webpack) before it polls. */
const PRODUCT_WORKER_START_TIMEOUT_MS = 180_000;

/**
 * The product's own worker process on `taskQueue`, started as `npm run worker` starts it (its
 * launcher sets the V8 heap limit), ready once it logs "worker started". The WORKER_* settings of
 * the bench's environment reach it (WORKER_HEAP_MB, WORKER_MAX_CACHED_WORKFLOWS: its memory bound).
 */
export function startProductWorker(options: {
  databaseUrl: string;
  temporal: { address: string; namespace: string };
  taskQueue: string;
  catalogPath: string;
  log: (message: string) => void;
  verbose: boolean;
}): Promise<WorkerProcess> {
  return startWorkerProcess({
    command: { launcher: WORKER_LAUNCHER },
    env: {
      DATABASE_URL: options.databaseUrl,
      TEMPORAL_ADDRESS: options.temporal.address,
      TEMPORAL_NAMESPACE: options.temporal.namespace,
      TEMPORAL_TASK_QUEUE: options.taskQueue,
      CREDITS_CATALOG: options.catalogPath,
    },
    // main.ts logs it (pino) once the worker is created, just before it runs.
    ready: { kind: 'line', what: `"${WORKER_STARTED}"`, matches: (line) => line.msg === WORKER_STARTED },
    startTimeoutMs: PRODUCT_WORKER_START_TIMEOUT_MS,
    log: options.log,
    verbose: options.verbose,
  });
}

/**
 * The Temporal the bench runs on (BENCH_TEMPORAL): the dev server, headless (in memory, or in the
 * SQLite file `devDbFile`), or the real server.
 */
export async function startBenchTemporal(context: BenchContext, directory: string, verbose: boolean, devDbFile?: string): Promise<BenchTemporal> {
  const { log } = context;
  const temporalLog = (line: string) => {
    if (verbose) log(`temporal: ${line}`);
  };
  if (benchTemporalKind() === 'server') return startRealTemporalForBench(context.databaseUrl, directory, temporalLog);
  const dev = await startTemporalDevServer({ headless: true, ...(devDbFile === undefined ? {} : { dbFile: devDbFile }), log: temporalLog });
  const description = `Temporal dev server (${devDbFile === undefined ? 'in memory' : 'SQLite file'})`;
  return { kind: 'dev', address: dev.address, namespace: dev.namespace, pid: dev.pid, description, stop: dev.stop };
}

/** A phase that makes no progress for this long fails the run (the worker's last output is shown). */
export const STALL_MS = 120_000;
const PROGRESS_LOG_MS = 10_000;

/**
 * Polls `probe` until it returns `target` (or `until` passes: then the last count is returned);
 * `onCount` sees every count with the time it was read. No progress for STALL_MS fails the run,
 * and so does the worker's exit.
 */
export async function pollCount(options: {
  probe: () => Promise<number>;
  target: number;
  until?: number;
  what: string;
  worker: WorkerProcess;
  onCount?: (count: number, atMs: number) => void;
  pollMs: number;
  log: (message: string) => void;
}): Promise<number> {
  let last = -1;
  let progressAt = performance.now();
  let reportedAt = performance.now();
  for (;;) {
    const count = await Promise.race([options.probe(), options.worker.exited]);
    const now = performance.now();
    options.onCount?.(count, now);
    if (count !== last) {
      last = count;
      progressAt = now;
    }
    if (count >= options.target) return count;
    if (options.until !== undefined && Date.now() >= options.until) return count;
    if (now - progressAt > STALL_MS) {
      throw new Error(`${options.what}: stuck at ${count}/${options.target} for ${STALL_MS / 1000} s; the worker's last output:\n${options.worker.tail()}`);
    }
    if (now - reportedAt > PROGRESS_LOG_MS) {
      reportedAt = now;
      options.log(`${options.what}: ${count}/${options.target}`);
    }
    await sleep(options.pollMs);
  }
}

/**
 * The body of a bench's own worker process (`startWorkerProcess` with `ready: { kind: 'ipc' }`):
 * quiet SDK logs, a connection to `address`, the worker `create` makes on it; tells the bench it
 * runs, and stops when the bench goes (its IPC channel closed) or on SIGTERM.
 */
export async function runBenchWorkerProcess(address: string, create: (connection: NativeConnection) => Promise<Worker>): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address });
  try {
    const worker = await create(connection);
    process.once('disconnect', () => {
      worker.shutdown();
    });
    const running = worker.run(); // resolves after SIGTERM/SIGINT once in-flight tasks are done
    process.send?.({ ready: true });
    await running;
  } finally {
    await connection.close();
  }
}
