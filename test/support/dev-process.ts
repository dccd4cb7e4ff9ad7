/**
 * `npm run dev` as a child process, as the dev-stack tests drive it: the real launcher (`tsx
 * src/devstack/main.ts`) on a data directory of the test's own and free ports, its output kept,
 * its banner parsed, and ways to interrupt it and to check that it left nothing listening.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { expect } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX_CLI = path.join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const START_TIMEOUT_MS = 150_000;
export const STOP_TIMEOUT_MS = 45_000;

export interface Banner {
  api: string;
  openapi: string;
  docs: string;
  temporalUi: string;
  /** Null when the demo is off (CREDITS_DEV_SEED=0) or skipped: the banner then has no such line. */
  demoWorkflows: string | null;
  temporalAddress: string;
  database: string;
  token: string;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface DevProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<Exit>;
}

export interface RunningDev extends DevProcess {
  banner: Banner;
  startedInMs: number;
}

/** Every launcher started, so that `stopAllDev` can end those a failed or timed-out test left running. */
const launched: DevProcess[] = [];

/** Settings that would point the stack elsewhere than a fresh clone's defaults. */
const UNSET = new Set([
  'DATABASE_URL',
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_TASK_QUEUE',
  'API_TOKENS',
  'CREDITS_CATALOG',
  'WEBHOOK_URL',
  'WEBHOOK_SECRET',
  'CREDITS_DEV_SEED',
  'SIMULATED_LATENCY_MS',
  'SIMULATED_VERIFIED_RATE',
]);

/** The environment of a fresh shell, with the given data directory and every port a free one. */
function devEnvironment(dataDir: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !UNSET.has(name))),
    CREDITS_DEV_DATA_DIR: dataDir,
    PORT: '0',
    CREDITS_DEV_TEMPORAL_PORT: '0',
    CREDITS_DEV_TEMPORAL_UI_PORT: '0',
    CREDITS_DEV_POSTGRES_PORT: '0',
    ...extra,
  };
}

/** A banner line's value: two spaces, the label, two or more spaces, the value. */
function field(output: string, label: string): string {
  const value = optionalField(output, label);
  if (value === null) throw new Error(`the banner has no "${label}" line:\n${output}`);
  return value;
}

function optionalField(output: string, label: string): string | null {
  return new RegExp(`^ {2}${label} {2,}(\\S+)`, 'm').exec(output)?.[1] ?? null;
}

function timeout<T>(ms: number, value: T): { promise: Promise<T>; clear: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<T>((resolve) => {
    timer = setTimeout(() => {
      resolve(value);
    }, ms);
  });
  return {
    promise,
    clear: () => {
      clearTimeout(timer);
    },
  };
}

function hasExited(dev: DevProcess): boolean {
  return dev.child.exitCode !== null || dev.child.signalCode !== null;
}

/**
 * Polls the launcher's output after the first `since` characters until `pattern` shows (bounded);
 * fails at once if the launcher exits meanwhile. Returns the match.
 */
export async function waitForOutput(dev: DevProcess, pattern: RegExp, what: string, timeoutMs = 30_000, since = 0): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(dev.output().slice(since));
    if (match) return match;
    if (hasExited(dev)) throw new Error(`the dev stack exited while waiting for ${what}:\n${dev.output()}`);
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs / 1000} s:\n${dev.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Starts the launcher on `dataDir` and resolves once its banner is out (bounded). */
export async function startDev(dataDir: string, extraEnv: Record<string, string> = {}): Promise<RunningDev> {
  const begin = Date.now();
  const child = spawn(process.execPath, [TSX_CLI, 'src/devstack/main.ts'], { cwd: REPO_ROOT, env: devEnvironment(dataDir, extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    });
  });
  const dev: DevProcess = { child, output: () => output, exited };
  launched.push(dev);
  await waitForOutput(dev, /Press Ctrl-C/, 'banner', START_TIMEOUT_MS);
  const banner: Banner = {
    api: field(output, 'API'),
    openapi: field(output, 'OpenAPI'),
    docs: field(output, 'API docs'),
    temporalUi: field(output, 'Temporal UI'),
    demoWorkflows: optionalField(output, 'Demo workflows'),
    temporalAddress: field(output, 'Temporal'),
    database: field(output, 'PostgreSQL'),
    token: field(output, 'API token'),
  };
  return { ...dev, banner, startedInMs: Date.now() - begin };
}

/** Resolves with how the launcher ended, once it has (bounded). */
export async function exitOf(dev: DevProcess, timeoutMs: number): Promise<Exit> {
  const limit = timeout(timeoutMs, null);
  const result = await Promise.race([dev.exited, limit.promise]);
  limit.clear();
  if (result === null) throw new Error(`still running after ${timeoutMs / 1000} s:\n${dev.output()}`);
  return result;
}

/** SIGINT, as Ctrl-C sends it; resolves with how the process ended (bounded). */
export async function interrupt(dev: DevProcess): Promise<Exit & { ms: number }> {
  const begin = Date.now();
  dev.child.kill('SIGINT');
  const result = await exitOf(dev, STOP_TIMEOUT_MS);
  return { ...result, ms: Date.now() - begin };
}

/** After a failed check: interrupt the stack if it still runs, and kill it if that does not end it. */
export async function stopIfRunning(dev: DevProcess): Promise<void> {
  if (hasExited(dev)) return;
  dev.child.kill('SIGINT');
  const limit = timeout(STOP_TIMEOUT_MS, false);
  const stopped = await Promise.race([dev.exited.then(() => true), limit.promise]);
  limit.clear();
  if (!stopped) dev.child.kill('SIGKILL');
}

/** For `afterAll`: ends every launcher a test left running. */
export async function stopAllDev(): Promise<void> {
  for (const dev of launched) await stopIfRunning(dev);
}

/** Whether something accepts TCP connections on the address (bounded). */
export function listening(address: string): Promise<boolean> {
  const url = new URL(address.includes('://') ? address : `tcp://${address}`);
  return new Promise((resolve) => {
    const socket = createConnection({ host: url.hostname, port: Number(url.port), timeout: 2_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

/** Polls `probe` until `done` holds (bounded). */
export async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (done(value)) return value;
      last = value;
    } catch (error) {
      last = error instanceof Error ? error.message : error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function get(url: string, token?: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.json() };
}

/** Runs `use` with a client of the Temporal frontend at `address`, closed afterwards. */
export async function withTemporalClient<T>(address: string, use: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address, connectTimeout: '5s' });
  try {
    return await use(new Client({ connection, namespace: 'default' }));
  } finally {
    await connection.close();
  }
}

/** The stack stopped in order (after a SIGINT or by itself): every step, in order, and nothing left listening. */
export async function expectStoppedInOrder(dev: RunningDev): Promise<void> {
  const steps = ['stopping the API', 'stopping the worker', 'stopping the Temporal dev server', 'stopping PostgreSQL', 'stopped'];
  const positions = steps.map((step) => dev.output().indexOf(`[dev] ${step}`));
  expect(positions.every((position) => position >= 0), dev.output()).toBe(true);
  expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  const { api, temporalUi, temporalAddress, database } = dev.banner;
  for (const address of [api, temporalUi, temporalAddress, database]) expect(await listening(address), `${address} still listening`).toBe(false);
}

/** The stack stops in order on SIGINT, exits 0, and leaves nothing listening on its ports. */
export async function expectCleanStop(dev: RunningDev, what: string): Promise<void> {
  const stopped = await interrupt(dev);
  console.log(`${what}: stopped ${(stopped.ms / 1000).toFixed(1)} s after SIGINT`);
  expect({ code: stopped.code, signal: stopped.signal }, dev.output()).toEqual({ code: 0, signal: null });
  await expectStoppedInOrder(dev);
}
