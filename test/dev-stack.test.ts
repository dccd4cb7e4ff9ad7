/**
 * `npm run dev` as a newcomer meets it: the real launcher (`tsx src/devstack/main.ts`) as a child
 * process, on a data directory of its own and free ports. It must print where everything is, serve
 * the seeded demo through the API and the Temporal visibility API, stop in order on SIGINT with
 * exit code 0 and nothing left listening, even with the demo job mid-batch, and find its data again
 * on a second start: the seed makes nothing twice and the interrupted job runs to the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
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
      expect(dev.output()).toMatch(/npm run credits -- balance demo/);

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

      await expectCleanStop(dev, 'second start');
    } finally {
      await stopIfRunning(dev);
    }
  }, 240_000);
});
