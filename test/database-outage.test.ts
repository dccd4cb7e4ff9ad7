/**
 * PostgreSQL goes away under load, as an operator meets it: the API is the real `npm run api`
 * process, the worker runs here, and this file owns its PostgreSQL server so that it can SIGKILL
 * the postmaster, stop it while a bulk job runs, or terminate single backends mid-transaction.
 * Clients retry with their own idempotency keys until they get an answer that is not 503.
 * Throughout, the API process stays alive and answers every request (503 DATABASE_UNAVAILABLE with
 * Retry-After during the outage, never 500); afterwards every charge is applied exactly once and
 * the audit is clean.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, type Catalog } from '../src/catalog/catalog.js';
import { createDatabase, freePort, startEmbeddedPostgres, type RunningPostgres } from '../src/devstack/postgres.js';
import { createPool } from '../src/ledger/db.js';
import { createLedger, type Ledger } from '../src/ledger/ledger.js';
import { migrate } from '../src/ledger/migrate.js';
import { createSimulatedProvider } from '../src/providers/simulated.js';
import { API_TOKEN } from './support/api-stack.js';
import { errorCode, http, type HttpAnswer } from './support/http.js';
import { ledgerChargedForJob, records } from './support/jobs.js';
import { devServerEnvironment, eventually, runWorker, type RunningWorker } from './support/temporal.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX_CLI = path.join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const CLIENTS = 8;
const CHARGES_PER_CLIENT = 40;
const RETRY_PAUSE_MS = 100;
const JOB_PRICE = 5; // lead.email-finder, per deliverable or risky record

interface Server {
  postgres: RunningPostgres;
  dataDir: string;
  port: number;
}

const state: {
  root: string;
  server: Server | null;
  databaseUrl: string;
  env: TestWorkflowEnvironment | null;
  worker: RunningWorker | null;
  pool: pg.Pool | null;
  ledger: Ledger | null;
  api: { child: ChildProcess; url: string; output: () => string } | null;
} = { root: '', server: null, databaseUrl: '', env: null, worker: null, pool: null, ledger: null, api: null };

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function need<T>(value: T | null): T {
  if (value === null) throw new Error('the outage stack is not running');
  return value;
}

/**
 * Starts PostgreSQL on the data directory and port it had; right after a SIGKILL the old backends
 * may still hold its memory, so it tries again. Durable settings: with synchronous_commit off, a
 * SIGKILL loses commits that were already acknowledged, and the test would rightly fail.
 */
async function startPostgres(dataDir: string, port: number): Promise<RunningPostgres> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startEmbeddedPostgres({ dataDir, port, detached: true });
    } catch (error) {
      if (attempt >= 20) throw error;
      await delay(250);
    }
  }
}

function postmasterPid(server: Server): number {
  return Number(readFileSync(path.join(server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

/** Waits until the postmaster has exited (its pid no longer answers). */
async function postmasterGone(pid: number): Promise<void> {
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  await eventually(
    () => Promise.resolve(alive()),
    (running) => !running,
    'the postmaster to exit',
  );
}

async function startApiProcess(taskQueue: string, address: string): Promise<NonNullable<typeof state.api>> {
  const port = await freePort();
  const child = spawn(process.execPath, [TSX_CLI, 'src/api/main.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, DATABASE_URL: state.databaseUrl, TEMPORAL_ADDRESS: address, TEMPORAL_TASK_QUEUE: taskQueue, API_TOKENS: API_TOKEN, SESSION_TOKEN_SECRET: 'test-session-secret-0123456789abcdef', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  await eventually(() => fetch(`${url}/openapi.json`).then((answer) => answer.status, () => 0), (status) => status === 200, `the API process to serve (output so far: ${output})`, 60_000);
  return { child, url, output: () => output };
}

function apiAlive(): boolean {
  const api = need(state.api);
  return api.child.exitCode === null && api.child.signalCode === null;
}

interface LoadResult {
  answers: HttpAnswer[];
  networkErrors: string[];
}

/**
 * CLIENTS clients, each charging CHARGES_PER_CLIENT times one credit, each charge with its own key
 * and retried with that key after a 503 until it is applied (201) or replayed (200).
 */
function chargeLoad(accountId: string, keyPrefix: string): { done: Promise<void>; result: LoadResult; applied: () => number } {
  const result: LoadResult = { answers: [], networkErrors: [] };
  let applied = 0;
  const client = async (index: number): Promise<void> => {
    for (let charge = 0; charge < CHARGES_PER_CLIENT; charge++) {
      const json = { feature: 'ai.variable', quantity: 1, userId: 'admin', idempotencyKey: `${keyPrefix}-${index}-${charge}` };
      for (let attempt = 0; attempt < 1_000; attempt++) {
        let answer: HttpAnswer;
        try {
          answer = await http(need(state.api).url, 'POST', `/v1/accounts/${accountId}/charges`, { json });
        } catch (error) {
          result.networkErrors.push(error instanceof Error ? error.message : String(error));
          if (!apiAlive()) throw new Error(`the API process died; its last output:\n${need(state.api).output().slice(-4000)}`, { cause: error });
          await delay(RETRY_PAUSE_MS);
          continue;
        }
        result.answers.push(answer);
        if (answer.status === 200 || answer.status === 201) {
          applied++;
          break;
        }
        if (answer.status !== 503) return;
        await delay(RETRY_PAUSE_MS);
      }
    }
  };
  return { done: Promise.all(Array.from({ length: CLIENTS }, (_, index) => client(index))).then(() => undefined), result, applied: () => applied };
}

/** What the clients saw: only successes and 503 DATABASE_UNAVAILABLE with Retry-After, and nothing unanswered. */
function expectOnlySuccessesAndRetryableOutages(result: LoadResult): void {
  expect(result.networkErrors).toEqual([]);
  const unexpected = result.answers.filter((answer) => ![200, 201, 503].includes(answer.status)).map((answer) => ({ status: answer.status, body: answer.body }));
  expect(unexpected).toEqual([]);
  for (const outage of result.answers.filter((answer) => answer.status === 503)) {
    expect(errorCode(outage)).toBe('DATABASE_UNAVAILABLE');
    expect(outage.headers.get('retry-after')).toMatch(/^\d+$/);
  }
}

async function createAccount(accountId: string, seats: number): Promise<void> {
  const created = await http(need(state.api).url, 'POST', '/v1/accounts', {
    json: { accountId, planId: 'sales-email-pro', seats, users: [{ userId: 'admin', role: 'admin' }] },
  });
  expect(created.status).toBe(201);
}

async function available(accountId: string): Promise<number> {
  const answer = await http(need(state.api).url, 'GET', `/v1/accounts/${accountId}`);
  expect(answer.status).toBe(200);
  return (answer.body as { balance: { available: number } }).balance.available;
}

async function chargeOperations(accountId: string): Promise<{ operations: number; keys: number }> {
  const { rows } = await need(state.pool).query<{ operations: number; keys: number }>(
    "SELECT count(*)::int AS operations, count(DISTINCT idempotency_key)::int AS keys FROM operations WHERE account_id = $1 AND kind = 'charge'",
    [accountId],
  );
  return rows[0] ?? { operations: -1, keys: -1 };
}

async function expectCleanAudit(): Promise<void> {
  const audit = await need(state.ledger).audit();
  expect(audit.problems).toEqual([]);
}

/** Every charge of the load applied exactly once: one operation per key, and the exact balance. */
async function expectEveryChargeOnce(accountId: string, startingCredits: number): Promise<void> {
  expect(await chargeOperations(accountId)).toEqual({ operations: CLIENTS * CHARGES_PER_CLIENT, keys: CLIENTS * CHARGES_PER_CLIENT });
  expect(await available(accountId)).toBe(startingCredits - CLIENTS * CHARGES_PER_CLIENT);
}

describe('a database outage', () => {
  beforeAll(async () => {
    state.root = mkdtempSync(path.join(tmpdir(), 'credits-outage-'));
    const dataDir = path.join(state.root, 'postgres');
    const port = await freePort();
    const postgres = await startPostgres(dataDir, port);
    state.server = { postgres, dataDir, port };
    state.databaseUrl = await createDatabase(postgres.url, 'credits');
    await migrate(state.databaseUrl);
    const catalog: Catalog = loadCatalog();
    state.pool = createPool({ connectionString: state.databaseUrl, max: 20, applicationName: 'outage-worker' });
    state.ledger = createLedger({ pool: state.pool, catalog });
    state.env = await devServerEnvironment();
    const taskQueue = `outage-${Math.random().toString(36).slice(2)}`;
    state.worker = await runWorker(state.env, taskQueue, {
      ledger: state.ledger,
      catalog,
      pool: state.pool,
      provider: createSimulatedProvider(catalog, { verifiedRate: 0.6, latencyMs: 5 }),
      batchConcurrency: 8,
      flushSize: 50,
    });
    state.api = await startApiProcess(taskQueue, state.env.address);
  }, 180_000);

  afterAll(async () => {
    state.api?.child.kill('SIGTERM');
    await state.worker?.stop();
    await state.env?.teardown();
    await state.pool?.end();
    await state.server?.postgres.stop();
    rmSync(state.root, { recursive: true, force: true });
  });

  it('SIGKILL of the postmaster under charge load: 503s with Retry-After, recovery on its own, every charge once', async () => {
    await createAccount('killed', 10); // 10,000 credits
    const load = chargeLoad('killed', 'kill');
    await eventually(() => Promise.resolve(load.applied()), (applied) => applied >= 60, 'some charges before the kill');

    const server = need(state.server);
    const pid = postmasterPid(server);
    process.kill(pid, 'SIGKILL');
    await postmasterGone(pid);
    const during = load.result.answers.length;
    await eventually(() => Promise.resolve(load.result.answers.slice(during).filter((answer) => answer.status === 503).length), (outages) => outages >= CLIENTS, 'clients to be refused during the outage');
    const health = await http(need(state.api).url, 'GET', '/health', { token: null });
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'unavailable', dependencies: { database: { state: 'down' }, temporal: { state: 'up' } } });
    const account = await http(need(state.api).url, 'GET', '/v1/accounts/killed');
    expect([account.status, errorCode(account), account.headers.get('retry-after')]).toEqual([503, 'DATABASE_UNAVAILABLE', '2']);
    expect(apiAlive()).toBe(true);

    state.server = { ...server, postgres: await startPostgres(server.dataDir, server.port) };
    await load.done;
    expect(apiAlive()).toBe(true);
    expectOnlySuccessesAndRetryableOutages(load.result);
    expect(load.result.answers.filter((answer) => answer.status === 503).length).toBeGreaterThan(0);
    await expectEveryChargeOnce('killed', 10_000);
    await eventually(async () => (await http(need(state.api).url, 'GET', '/health', { token: null })).status, (status) => status === 200, 'the API to report itself healthy');
    const log = need(state.api).output();
    expect(log).toContain('database lost');
    expect(log).toMatch(/database back after [\d.]+ s/);
    expect(log).not.toContain('unexpected error');
    await expectCleanAudit();
  });

  it('backends terminated mid-transaction: only those requests fail (503), their retries apply once', async () => {
    await createAccount('terminated', 10);
    const admin = new pg.Client({ connectionString: state.databaseUrl });
    await admin.connect();
    try {
      const load = chargeLoad('terminated', 'term');
      let terminated = 0;
      const loadState = { finished: false };
      void load.done.then(() => (loadState.finished = true));
      while (!loadState.finished && terminated < 30) {
        const { rows } = await admin.query<{ terminated: boolean }>(
          "SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE application_name = 'credits-api' AND xact_start IS NOT NULL AND pid <> pg_backend_pid()",
        );
        terminated += rows.filter((row) => row.terminated).length;
        await delay(15);
      }
      await load.done;
      expect(terminated).toBeGreaterThan(0);
      expect(apiAlive()).toBe(true);
      expectOnlySuccessesAndRetryableOutages(load.result);
      await expectEveryChargeOnce('terminated', 10_000);
    } finally {
      await admin.end();
    }
    await expectCleanAudit();
  });

  it('PostgreSQL stopped while a bulk job runs: the job completes after recovery and charges only verified records', async () => {
    await createAccount('bulk', 10);
    const api = need(state.api);
    const created = await http(api.url, 'POST', '/v1/accounts/bulk/jobs', {
      json: { jobId: 'outage-job', feature: 'lead.email-finder', userId: 'admin', idempotencyKey: 'outage-job', records: records('outage', 1_500), start: true },
    });
    expect(created.status).toBe(201);
    const progress = async () => {
      const answer = await http(api.url, 'GET', '/v1/jobs/outage-job');
      return answer.status === 200 ? (answer.body as { status: string; progress: { processed: number; verified: number; total: number }; credits: { charged: number; held: number } }) : null;
    };
    await eventually(progress, (job) => (job?.progress.processed ?? 0) > 100, 'the job to be under way');

    const server = need(state.server);
    const pid = postmasterPid(server);
    process.kill(pid, 'SIGINT'); // what `pg_ctl stop -m fast` sends
    await postmasterGone(pid);
    const during = await http(api.url, 'GET', '/v1/jobs/outage-job');
    expect([during.status, errorCode(during)]).toEqual([503, 'DATABASE_UNAVAILABLE']);
    await delay(1_500); // the worker's batches fail meanwhile, and Temporal schedules their retries
    state.server = { ...server, postgres: await startPostgres(server.dataDir, server.port) };

    const done = await eventually(progress, (job) => job?.status === 'completed', 'the job to complete after recovery', 120_000);
    expect(done?.progress.processed).toBe(1_500);
    expect(done?.credits.charged).toBe((done?.progress.verified ?? -1) * JOB_PRICE);
    expect(done?.credits.held).toBe(0);
    expect(await ledgerChargedForJob(need(state.pool), 'outage-job')).toBe((done?.credits.charged ?? -1) * 1_000_000);
    expect(apiAlive()).toBe(true);
    await expectCleanAudit();
  });
});
