/**
 * `npm run dev` as a newcomer meets it: the real launcher (`tsx src/devstack/main.ts`) as a child
 * process, on a data directory of its own and free ports. It must print where everything is, serve
 * the seeded demo through the API and the Temporal visibility API, stop in order on SIGINT with
 * exit code 0 and nothing left listening, even with the demo job mid-batch, and find its data again
 * on a second start: the seed makes nothing twice and the interrupted job runs to the end. What the
 * banner says with no demo (seeding off, or a catalog that cannot hold it) is checked on the
 * banner itself: every command it shows must work on such a stack.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCatalog, parseCatalog } from '../src/catalog/catalog.js';
import { banner, FIRST_ACCOUNT_ID, type BannerStack } from '../src/devstack/banner.js';
import { DEMO, demoCatalogProblem } from '../src/devstack/demo.js';
import { ACCOUNT_ID, FEATURE, JOB_STATUS, PLAN_ID } from '../workflows/search-attributes.js';
import { eventually, expectCleanStop, get, startDev, stopAllDev, stopIfRunning, STOP_TIMEOUT_MS, withTemporalClient, type Banner } from './support/dev-process.js';

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

async function getJob(banner: Banner): Promise<JobBody> {
  return (await get(`${banner.api}/v1/jobs/demo-leads`, banner.token)).body as JobBody;
}

async function getAccount(banner: Banner): Promise<{ status: number; body: AccountBody }> {
  const { status, body } = await get(`${banner.api}/v1/accounts/demo`, banner.token);
  return { status, body: body as AccountBody };
}

/** What Temporal's visibility API lists for `AccountId = "demo"`, at the printed address. */
function demoWorkflows(address: string): Promise<WorkflowExecutionInfo[]> {
  return withTemporalClient(address, async (client) => {
    const found: WorkflowExecutionInfo[] = [];
    for await (const execution of client.workflow.list({ query: 'AccountId = "demo"' })) found.push(execution);
    return found;
  });
}

/** `npx credits audit` as the banner gives it: this test's data directory, no DATABASE_URL. */
function auditWithoutDatabaseUrl(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, CREDITS_DEV_DATA_DIR: dataDir };
  delete env.DATABASE_URL;
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['credits', 'audit'], { cwd: path.join(import.meta.dirname, '..'), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

afterAll(async () => {
  await stopAllDev();
  rmSync(dataDir, { recursive: true, force: true });
}, STOP_TIMEOUT_MS * 2 + 10_000);

describe('npm run dev', () => {
  let first: { token: string; job: JobBody } | undefined;

  it('starts everything, seeds the demo, and stops cleanly on SIGINT with the demo job mid-batch', async () => {
    // A slow provider, so that the job is still running when the stack is interrupted.
    const dev = await startDev(dataDir, { SIMULATED_LATENCY_MS: '2000' });
    try {
      const { banner } = dev;
      console.log(`first start: banner after ${(dev.startedInMs / 1000).toFixed(1)} s`);
      expect(banner.openapi).toBe(`${banner.api}/openapi.json`);
      expect(banner.docs).toBe(`${banner.api}/docs`);
      expect(banner.demoWorkflows).toBe(`${banner.temporalUi}/namespaces/default/workflows?query=${encodeURIComponent('AccountId="demo"')}`);
      expect(dev.output()).toMatch(/account "demo" .* created/);
      expect(dev.output()).toMatch(/curl -s -H 'Authorization: Bearer \S+' http:\/\/\S+\/v1\/accounts\/demo/);
      expect(dev.output()).toMatch(/npx credits balance demo/);
      expect(dev.output()).not.toMatch(/npm run credits/);

      // The API, its OpenAPI document and its docs page.
      expect(await get(`${banner.api}/health`)).toMatchObject({ status: 200, body: { status: 'ok' } });
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

      // Both user policies are seeded and shown: "demo" refuses unknown users, "demo-open" registers them.
      expect(dev.output()).toMatch(/"demo" refuses a spend by a user it has not registered/);
      expect(((await get(`${banner.api}/v1/accounts/demo/users`, banner.token)).body as { unknownUsers: string }).unknownUsers).toBe('refuse');
      expect(((await get(`${banner.api}/v1/accounts/demo-open/users`, banner.token)).body as { unknownUsers: string }).unknownUsers).toBe('register');

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
      if (banner.demoWorkflows === null) throw new Error('the demo banner has no Demo workflows link');
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
    const dev = await startDev(dataDir);
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

      // The banner's `npx credits audit` finds the stack's database through the file the stack publishes.
      const stateFile = path.join(dataDir, 'dev-stack.json');
      expect(dev.output()).toContain(`CREDITS_DEV_DATA_DIR=${dataDir} npx credits audit`);
      const audit = await auditWithoutDatabaseUrl();
      expect(audit).toMatchObject({ code: 0, stderr: '' });
      expect(audit.stdout).toContain(`auditing the dev stack's database (from ${stateFile})`);
      expect(audit.stdout).toContain('audit clean');

      await expectCleanStop(dev, 'second start');
      expect(existsSync(stateFile), 'a stopped stack leaves no dev-stack.json').toBe(false);
      const afterStop = await auditWithoutDatabaseUrl();
      expect(afterStop.code).toBe(2);
      expect(afterStop.stderr).toContain(`${stateFile}: not there`);
    } finally {
      await stopIfRunning(dev);
    }
  }, 240_000);
});

describe('the demo seed and the banner', () => {
  const stackWith = (demo: Pick<BannerStack, 'demo' | 'demoSkipped' | 'planIds'>): BannerStack => ({
    urls: {
      api: 'http://127.0.0.1:3000',
      openapi: 'http://127.0.0.1:3000/openapi.json',
      docs: 'http://127.0.0.1:3000/docs',
      console: 'http://127.0.0.1:3000/console',
      temporalAddress: '127.0.0.1:7233',
      temporalUi: 'http://127.0.0.1:8233',
      demoWorkflows: demo.demo === null ? null : 'http://127.0.0.1:8233/namespaces/default/workflows?query=AccountId%3D%22demo%22',
      database: 'postgres://postgres:password@127.0.0.1:5432/credits',
    },
    token: 'dev-0123456789abcdef',
    tokenFile: '/somewhere/.data/dev-token',
    dataDir: '/somewhere/.data',
    ports: { api: 3000, temporal: 7233, temporalUi: 8233, postgres: 5432 },
    portNotes: [],
    ...demo,
  });
  const demoPaths = [`/v1/accounts/${DEMO.accountId}`, `/v1/accounts/${DEMO.openAccountId}`, `/v1/jobs/${DEMO.jobId}`, `balance ${DEMO.accountId}`, `job ${DEMO.jobId}`, 'Demo workflows'];
  const ownCatalog = (plans: Record<string, { features: string[] }>) =>
    parseCatalog({
      version: 1,
      features: {
        'lead.email-finder': { name: 'Email finder', kind: 'enrichment', unitPrice: 5, chargeableOutcomes: ['deliverable'] },
        'ai.variable': { name: 'AI variable', unitPrice: 1 },
        'doc.page': { name: 'Page', unitPrice: 1 },
      },
      plans: Object.fromEntries(Object.entries(plans).map(([id, plan]) => [id, { name: id, features: plan.features, allowances: [{ credits: 100 }], period: { rule: 'calendar_month' } }])),
    });

  it('seeds with the example catalog, and says why not with one that cannot hold the demo', () => {
    expect(demoCatalogProblem(loadCatalog())).toBeNull();
    expect(demoCatalogProblem(ownCatalog({ starter: { features: ['doc.page'] } }))).toBe(`it has no plan "${DEMO.planId}"`);
    expect(demoCatalogProblem(ownCatalog({ [DEMO.planId]: { features: ['doc.page', DEMO.chargeFeature] } }))).toBe(`its plan "${DEMO.planId}" lacks "${DEMO.feature}"`);
    expect(demoCatalogProblem(ownCatalog({ [DEMO.planId]: { features: [DEMO.feature, DEMO.chargeFeature] } }))).toBeNull();
  });

  it('with the demo skipped: one line says why, and it shows only commands for the catalog it has', () => {
    const text = banner(stackWith({ demo: null, demoSkipped: 'the catalog /mine.yaml cannot hold it: it has no plan "sales-email-pro"', planIds: ['starter', 'team'] }), 1000);
    expect(text.split('\n').filter((line) => /demo/i.test(line))).toEqual(['Demo: skipped, the catalog /mine.yaml cannot hold it: it has no plan "sales-email-pro" (CREDITS_DEV_SEED=0 turns the demo off).']);
    for (const path of demoPaths) expect(text).not.toContain(path);
    expect(text).toContain(`curl -s -H 'Authorization: Bearer dev-0123456789abcdef' http://127.0.0.1:3000/v1/catalog`);
    expect(text).toContain(
      `curl -s -H 'Authorization: Bearer dev-0123456789abcdef' -H 'Content-Type: application/json' -d '{"accountId":"${FIRST_ACCOUNT_ID}","planId":"starter","users":[{"userId":"admin","role":"admin"}]}' http://127.0.0.1:3000/v1/accounts`,
    );
    expect(text).toContain(`npx credits balance ${FIRST_ACCOUNT_ID}`);
  });

  it('with seeding off: says so, and shows no demo command', () => {
    const text = banner(stackWith({ demo: null, demoSkipped: null, planIds: [] }), 1000);
    expect(text).toContain('Demo: off (CREDITS_DEV_SEED=0).');
    for (const path of demoPaths) expect(text).not.toContain(path);
    expect(text).not.toContain('/v1/accounts');
    expect(text).toContain('(the catalog has no plan: add one to open an account)');
  });

  it('with the demo: its commands, through `npx credits`', () => {
    const text = banner(stackWith({ demo: { accountId: DEMO.accountId, jobId: DEMO.jobId, accountCreated: true, jobCreated: true, notes: [] }, demoSkipped: null, planIds: [DEMO.planId] }), 1000);
    for (const path of demoPaths) expect(text).toContain(path);
    expect(text).toContain(`  CREDITS_API_TOKEN=dev-0123456789abcdef npx credits balance ${DEMO.accountId}`);
    expect(text).not.toContain('npm run');
  });
});
