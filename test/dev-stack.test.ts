/**
 * `npm run dev` as a newcomer meets it: the real launcher (`tsx src/devstack/main.ts`) as a child
 * process, on a data directory of its own and free ports. It must print where everything is, serve
 * the seeded demo through the API and the Temporal visibility API, stop in order on SIGINT with
 * exit code 0 and nothing left listening, even with the demo job mid-batch, and find its data again
 * on a second start: the seed makes nothing twice and the interrupted job runs to the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection, type WorkflowExecutionInfo } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { ACCOUNT_ID, FEATURE, JOB_STATUS, PLAN_ID } from '../workflows/search-attributes.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX_CLI = path.join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const START_TIMEOUT_MS = 150_000;
const STOP_TIMEOUT_MS = 45_000;

interface Banner {
  api: string;
  openapi: string;
  docs: string;
  temporalUi: string;
  demoWorkflows: string;
  temporalAddress: string;
  database: string;
  token: string;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface DevProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<Exit>;
}

interface RunningDev extends DevProcess {
  banner: Banner;
  startedInMs: number;
}

interface JobBody {
  status: string;
  createdAt: string;
  progress: { total: number; processed: number; verified: number };
  credits: { charged: number; held: number };
}

interface AccountBody {
  accountId: string;
  planId: string;
  period: { start: string; end: string; daysLeft: number };
  balance: { available: number; held: number; bySource: { allowance: number; trial: number } };
  grants: { source: string; amount: number; status: string }[];
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'credits-dev-test-'));
const started: DevProcess[] = [];

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

/** The environment of a fresh shell, with a data directory of its own and every port a free one. */
function devEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
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
  const match = new RegExp(`^ {2}${label} {2,}(\\S+)`, 'm').exec(output);
  if (!match?.[1]) throw new Error(`the banner has no "${label}" line:\n${output}`);
  return match[1];
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

/** Starts the launcher and resolves once its banner is out (bounded). */
async function startDev(extraEnv: Record<string, string> = {}): Promise<RunningDev> {
  const begin = Date.now();
  const child = spawn(process.execPath, [TSX_CLI, 'src/devstack/main.ts'], { cwd: REPO_ROOT, env: devEnvironment(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    });
  });
  const dev: DevProcess = { child, output: () => output, exited };
  started.push(dev);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!output.includes('Press Ctrl-C')) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the dev stack exited during start-up:\n${output}`);
    if (Date.now() > deadline) throw new Error(`no banner within ${START_TIMEOUT_MS / 1000} s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const banner: Banner = {
    api: field(output, 'API'),
    openapi: field(output, 'OpenAPI'),
    docs: field(output, 'API docs'),
    temporalUi: field(output, 'Temporal UI'),
    demoWorkflows: field(output, 'Demo workflows'),
    temporalAddress: field(output, 'Temporal'),
    database: field(output, 'PostgreSQL'),
    token: field(output, 'API token'),
  };
  return { ...dev, banner, startedInMs: Date.now() - begin };
}

/** SIGINT, as Ctrl-C sends it; resolves with how the process ended (bounded). */
async function interrupt(dev: DevProcess): Promise<Exit & { ms: number }> {
  const begin = Date.now();
  dev.child.kill('SIGINT');
  const limit = timeout(STOP_TIMEOUT_MS, null);
  const result = await Promise.race([dev.exited, limit.promise]);
  limit.clear();
  if (result === null) throw new Error(`still running ${STOP_TIMEOUT_MS / 1000} s after SIGINT:\n${dev.output()}`);
  return { ...result, ms: Date.now() - begin };
}

/** After a failed check: interrupt the stack if it still runs, and kill it if that does not end it. */
async function stopIfRunning(dev: DevProcess): Promise<void> {
  if (dev.child.exitCode !== null || dev.child.signalCode !== null) return;
  dev.child.kill('SIGINT');
  const limit = timeout(STOP_TIMEOUT_MS, false);
  const stopped = await Promise.race([dev.exited.then(() => true), limit.promise]);
  limit.clear();
  if (!stopped) dev.child.kill('SIGKILL');
}

/** Whether something accepts TCP connections on the address (bounded). */
function listening(address: string): Promise<boolean> {
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
async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
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

async function get(url: string, token?: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.json() };
}

async function getJob(banner: Banner): Promise<JobBody> {
  return (await get(`${banner.api}/v1/jobs/demo-leads`, banner.token)).body as JobBody;
}

async function getAccount(banner: Banner): Promise<{ status: number; body: AccountBody }> {
  const { status, body } = await get(`${banner.api}/v1/accounts/demo`, banner.token);
  return { status, body: body as AccountBody };
}

/** What Temporal's visibility API lists for `AccountId = "demo"`, at the printed address. */
async function demoWorkflows(address: string): Promise<WorkflowExecutionInfo[]> {
  const connection = await Connection.connect({ address, connectTimeout: '5s' });
  try {
    const client = new Client({ connection, namespace: 'default' });
    const found: WorkflowExecutionInfo[] = [];
    for await (const execution of client.workflow.list({ query: 'AccountId = "demo"' })) found.push(execution);
    return found;
  } finally {
    await connection.close();
  }
}

/** The stack stops in order on SIGINT, exits 0, and leaves nothing listening on its ports. */
async function expectCleanStop(dev: RunningDev, what: string): Promise<void> {
  const stopped = await interrupt(dev);
  console.log(`${what}: stopped ${(stopped.ms / 1000).toFixed(1)} s after SIGINT`);
  expect({ code: stopped.code, signal: stopped.signal }, dev.output()).toEqual({ code: 0, signal: null });
  const steps = ['stopping the API', 'stopping the worker', 'stopping the Temporal dev server', 'stopping PostgreSQL', 'stopped'];
  const positions = steps.map((step) => dev.output().indexOf(`[dev] ${step}`));
  expect(positions.every((position) => position >= 0), dev.output()).toBe(true);
  expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  const { api, temporalUi, temporalAddress, database } = dev.banner;
  for (const address of [api, temporalUi, temporalAddress, database]) expect(await listening(address), `${address} still listening`).toBe(false);
}

afterAll(async () => {
  for (const dev of started) await stopIfRunning(dev);
  rmSync(dataDir, { recursive: true, force: true });
}, STOP_TIMEOUT_MS * 2 + 10_000);

describe('npm run dev', () => {
  let first: { token: string; job: JobBody } | undefined;

  it('starts everything, seeds the demo, and stops cleanly on SIGINT with the demo job mid-batch', async () => {
    // A slow provider, so that the job is still running when the stack is interrupted.
    const dev = await startDev({ SIMULATED_LATENCY_MS: '2000' });
    try {
      const { banner } = dev;
      console.log(`first start: banner after ${(dev.startedInMs / 1000).toFixed(1)} s`);
      expect(banner.openapi).toBe(`${banner.api}/openapi.json`);
      expect(banner.docs).toBe(`${banner.api}/docs`);
      expect(banner.demoWorkflows).toBe(`${banner.temporalUi}/namespaces/default/workflows?query=${encodeURIComponent('AccountId="demo"')}`);
      expect(dev.output()).toMatch(/account "demo" .* created/);
      expect(dev.output()).toMatch(/curl -s -H 'Authorization: Bearer \S+' http:\/\/\S+\/v1\/accounts\/demo/);
      expect(dev.output()).toMatch(/npm run credits -- balance demo/);

      // The API, its OpenAPI document and its docs page.
      expect(await get(`${banner.api}/health`)).toEqual({ status: 200, body: { status: 'ok' } });
      const openapi = await get(banner.openapi);
      expect(openapi.status).toBe(200);
      expect((openapi.body as { openapi?: string }).openapi).toMatch(/^3\./);
      const docs = await fetch(banner.docs, { signal: AbortSignal.timeout(10_000) });
      expect(docs.status).toBe(200);
      expect(docs.headers.get('content-type')).toMatch(/html/);
      expect((await get(`${banner.api}/v1/accounts/demo`)).status).toBe(401);

      // The demo account: its plan, current period and balance.
      const account = await getAccount(banner);
      expect(account.status).toBe(200);
      expect(account.body).toMatchObject({ accountId: 'demo', planId: 'sales-email-pro', seats: 2, status: 'active' });
      expect(Date.parse(account.body.period.start)).toBeLessThanOrEqual(Date.now());
      expect(Date.parse(account.body.period.end)).toBeGreaterThan(Date.now());
      expect(account.body.period.daysLeft).toBeGreaterThanOrEqual(0);
      expect(account.body.balance.bySource.trial).toBe(500);
      expect(account.body.balance.bySource.allowance + account.body.balance.held).toBeGreaterThan(0);

      // The demo job progresses (and holds its reservation while it runs).
      const job = await eventually(
        async () => await getJob(banner),
        (body) => body.progress.processed > 0,
        'the demo job to progress',
      );
      expect(job.progress.total).toBe(200);
      expect(job.status).toBe('running');
      expect(job.credits.held).toBeGreaterThan(0);

      // Temporal's visibility API shows both workflows with their search attributes.
      const workflows = await eventually(
        () => demoWorkflows(banner.temporalAddress),
        (found) => found.some((w) => w.workflowId === 'account:demo') && found.some((w) => w.workflowId === 'job:demo-leads'),
        'the demo workflows in Temporal visibility',
      );
      const accountWorkflow = workflows.find((w) => w.workflowId === 'account:demo');
      expect(accountWorkflow?.type).toBe('accountWorkflow');
      expect(accountWorkflow?.status.name).toBe('RUNNING');
      expect(accountWorkflow?.typedSearchAttributes.get(ACCOUNT_ID)).toBe('demo');
      expect(accountWorkflow?.typedSearchAttributes.get(PLAN_ID)).toBe('sales-email-pro');
      const jobWorkflow = workflows.find((w) => w.workflowId === 'job:demo-leads');
      expect(jobWorkflow?.type).toBe('jobWorkflow');
      expect(jobWorkflow?.status.name).toBe('RUNNING');
      expect(jobWorkflow?.typedSearchAttributes.get(ACCOUNT_ID)).toBe('demo');
      expect(jobWorkflow?.typedSearchAttributes.get(FEATURE)).toBe('lead.email-finder');
      expect(jobWorkflow?.typedSearchAttributes.get(JOB_STATUS)).toBe('running');

      // The Web UI answers at the printed deep link.
      const ui = await fetch(banner.demoWorkflows, { signal: AbortSignal.timeout(10_000) });
      expect(ui.status).toBe(200);
      expect(await ui.text()).toMatch(/<html/i);

      // Ctrl-C with the job mid-batch: everything stops in order, exit code 0, nothing left listening.
      const before = await getJob(banner);
      expect(before.status, 'the job should still be running when interrupted').toBe('running');
      await expectCleanStop(dev, 'first start');
      first = { token: banner.token, job: before };
    } finally {
      await stopIfRunning(dev);
    }
  }, 240_000);

  it('keeps its data on a second start: the seed makes nothing twice, the interrupted job completes', async () => {
    expect(first, 'the first start must have run').toBeDefined();
    const dev = await startDev();
    try {
      const { banner } = dev;
      console.log(`second start: banner after ${(dev.startedInMs / 1000).toFixed(1)} s`);
      expect(banner.token).toBe(first?.token);
      expect(dev.output()).toMatch(/account "demo" .* already there/);
      expect(dev.output()).toMatch(/job "demo-leads" .* already there/);

      // The same job, picked up where it was interrupted, charges 5 credits per chargeable result only.
      const job = await eventually(
        async () => await getJob(banner),
        (body) => body.status === 'completed',
        'the interrupted demo job to complete',
        90_000,
      );
      expect(job.createdAt).toBe(first?.job.createdAt);
      expect(job.progress).toMatchObject({ total: 200, processed: 200 });
      expect(job.credits.charged).toBe(5 * job.progress.verified);
      expect(job.credits.held).toBe(0);
      const jobs = await get(`${banner.api}/v1/accounts/demo/jobs`, banner.token);
      expect((jobs.body as { jobs: unknown[] }).jobs).toHaveLength(1);

      // One account, one trial, and a balance that is what was granted less what the job charged.
      const account = await getAccount(banner);
      expect(account.body).toMatchObject({ accountId: 'demo', planId: 'sales-email-pro' });
      expect(account.body.grants.filter((grant) => grant.source === 'trial')).toHaveLength(1);
      const granted = account.body.grants.filter((grant) => grant.status === 'active').reduce((sum, grant) => sum + grant.amount, 0);
      expect(account.body.balance).toMatchObject({ available: granted - job.credits.charged, held: 0 });

      const workflows = await eventually(
        () => demoWorkflows(banner.temporalAddress),
        (found) => found.some((w) => w.workflowId === 'job:demo-leads' && w.typedSearchAttributes.get(JOB_STATUS) === 'completed'),
        'the job workflow to show JobStatus completed',
      );
      expect(workflows.filter((w) => w.workflowId === 'account:demo' && w.status.name === 'RUNNING')).toHaveLength(1);
      expect(workflows.filter((w) => w.workflowId === 'job:demo-leads')).toHaveLength(1);

      await expectCleanStop(dev, 'second start');
    } finally {
      await stopIfRunning(dev);
    }
  }, 240_000);
});
