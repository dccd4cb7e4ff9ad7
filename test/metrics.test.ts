/**
 * The metrics after a known load through the real stack: the API's /metrics, the worker's metrics
 * port and the Temporal SDK's own endpoint are scraped and parsed as Prometheus text, and every
 * counter must equal what the load did.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookActivities } from '../activities/webhook-activities.js';
import { createApiDeps } from '../src/api/deps.js';
import { startApiServer } from '../src/api/server.js';
import type { MetricsAccess } from '../src/config.js';
import { freePort } from '../src/devstack/postgres.js';
import { listEvents } from '../src/events/feed.js';
import { startMetricsServer, temporalMetrics, type MetricsServer } from '../src/worker/metrics.js';
import { API_TOKEN, useApiStack } from './support/api-stack.js';
import { http } from './support/http.js';
import { records } from './support/jobs.js';
import { eventually } from './support/temporal.js';

const temporalMetricsPort = await freePort();
// The SDK's runtime is made with the process's first connection (the stack's): it must know its metrics before.
Runtime.install({ logger: new DefaultLogger('WARN'), telemetryOptions: { metrics: temporalMetrics(`127.0.0.1:${temporalMetricsPort}`) } });

/** How far ahead of real time the API's clock runs: moved only to look at the boundaries from after one. */
let clockAheadMs = 0;
const stackOf = useApiStack({ now: () => new Date(Date.now() + clockAheadMs) });
let workerMetrics: MetricsServer;
beforeAll(async () => {
  workerMetrics = await startMetricsServer({ port: 0, hostname: '127.0.0.1' });
});
afterAll(() => workerMetrics.close());

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Every sample of a Prometheus text exposition; a line that is neither a comment nor a sample fails the test. */
function parse(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match?.[1] || !match[3]) throw new Error(`not a Prometheus sample: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((label): [string, string] => [label[1] ?? '', label[2] ?? '']));
      return { name: match[1], labels, value: Number(match[3]) };
    });
}

class Scrape {
  constructor(readonly samples: Sample[]) {}

  /** The sample with exactly these labels; undefined when there is none. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const wanted = Object.entries(labels);
    return this.samples.find((sample) => sample.name === name && Object.keys(sample.labels).length === wanted.length && wanted.every(([key, value]) => sample.labels[key] === value))?.value;
  }

  /** Every sample of a metric, as [labels, value], in a stable order. */
  all(name: string): [Record<string, string>, number][] {
    return this.samples
      .filter((sample) => sample.name === name)
      .map((sample): [Record<string, string>, number] => [sample.labels, sample.value])
      .sort(([a], [b]) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  }
}

async function scrape(url: string): Promise<Scrape> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return new Scrape(parse(await response.text()));
}

const scrapeApi = () => scrape(`${stackOf().api.url}/metrics`);
const scrapeWorker = () => scrape(workerMetrics.url);
const CHARGES_ROUTE = '/v1/accounts/:accountId/charges';
const ACCOUNT = 'metered';

const waitForJob = (jobId: string, status: string) =>
  eventually(
    () => stackOf().client.getJob(jobId),
    (job) => job.status === status,
    `job ${jobId} ${status}`,
    60_000,
  );

/** Each record outcome's count over the given jobs, as credits_job_records_total labels them. */
async function recordsOf(jobIds: string[]): Promise<{ verified: number; not_found: number; failed: number }> {
  const counts = { verified: 0, not_found: 0, failed: 0 };
  for (const jobId of jobIds) {
    const { progress } = await stackOf().client.getJob(jobId);
    counts.verified += progress.verified;
    counts.not_found += progress.notFound;
    counts.failed += progress.failed;
  }
  return counts;
}

describe('metrics', () => {
  it('worker: records stored by outcome, none left in flight, and the Temporal SDK worker metrics', async () => {
    const { client } = stackOf();
    // data-license: 1,000 credits a year; contact.export 1 credit a record, contact.email-check 1 per verified record.
    await client.createAccount({ accountId: ACCOUNT, planId: 'data-license', users: [{ userId: 'ana', role: 'admin' }] });
    await client.createJob(ACCOUNT, { jobId: 'small', feature: 'contact.email-check', userId: 'ana', idempotencyKey: 'small', records: records('s', 10), start: true });
    await waitForJob('small', 'completed');

    const worker = await scrapeWorker();
    const stored = await recordsOf(['small']);
    expect(stored.verified + stored.not_found + stored.failed).toBe(10);
    for (const [outcome, count] of Object.entries(stored)) expect(worker.value('credits_job_records_total', { outcome })).toBe(count);
    expect(worker.value('credits_job_records_in_flight')).toBe(0);
    // Node's own metrics come with the process's.
    expect(worker.value('process_resident_memory_bytes')).toBeGreaterThan(0);

    const sdk = await scrape(`http://127.0.0.1:${temporalMetricsPort}/metrics`);
    const completedWorkflows = sdk.samples.filter((sample) => sample.name === 'temporal_workflow_completed_total').reduce((sum, sample) => sum + sample.value, 0);
    expect(completedWorkflows).toBeGreaterThanOrEqual(1);
    expect(sdk.samples.some((sample) => sample.name === 'temporal_worker_task_slots_available')).toBe(true);
    expect(sdk.samples.some((sample) => sample.name.startsWith('temporal_activity_execution_latency_seconds'))).toBe(true);
  });

  it('API: charges by feature and outcome, their latency, group-commit batches and HTTP answers by status (the 402 rate)', async () => {
    const { client } = stackOf();
    const before = await scrapeApi();
    // 1,000 credits less at most 10 for the job's records: three charges of 300 pass, two are refused.
    const body = (key: string) => ({ feature: 'contact.export', quantity: 300, userId: 'ana', idempotencyKey: key });
    const keys = ['c1', 'c2', 'c3', 'c4', 'c5'];
    const settled = await Promise.allSettled(keys.map((key) => client.charge(ACCOUNT, body(key))));
    const charged = keys.filter((_, index) => settled[index]?.status === 'fulfilled');
    expect(charged).toHaveLength(3);
    const replay = await http(stackOf().api.url, 'POST', `/v1/accounts/${ACCOUNT}/charges`, { json: body(charged[0] ?? '') });
    expect([replay.status, replay.headers.get('idempotent-replayed')]).toEqual([201, 'true']);
    const notInPlan = await http(stackOf().api.url, 'POST', `/v1/accounts/${ACCOUNT}/charges`, { json: { ...body('c6'), feature: 'ai.variable' } });
    const unknownFeature = await http(stackOf().api.url, 'POST', `/v1/accounts/${ACCOUNT}/charges`, { json: { ...body('c7'), feature: 'no.such-feature' } });
    const invalid = await http(stackOf().api.url, 'POST', `/v1/accounts/${ACCOUNT}/charges`, { json: { ...body('c8'), quantity: -1 } });
    expect([notInPlan.status, unknownFeature.status, invalid.status]).toEqual([403, 404, 422]);

    const after = await scrapeApi();
    // Refused in the ledger: before the database (UNKNOWN_FEATURE, with no feature label: the id is
    // the caller's) or by it; the 422 never reached the ledger.
    expect(after.all('credits_charges_total')).toEqual([
      [{ feature: '', outcome: 'UNKNOWN_FEATURE' }, 1],
      [{ feature: 'ai.variable', outcome: 'FEATURE_NOT_IN_PLAN' }, 1],
      [{ feature: 'contact.export', outcome: 'INSUFFICIENT_CREDITS' }, 2],
      [{ feature: 'contact.export', outcome: 'charged' }, 3],
      [{ feature: 'contact.export', outcome: 'replayed' }, 1],
    ]);
    // Timed: every charge that went to the database (the five, the replay, the one not in the plan).
    expect(after.value('credits_charge_duration_seconds_count')).toBe(7);
    expect(after.value('credits_charge_duration_seconds_bucket', { le: '+Inf' })).toBe(7);
    // The same seven, in batches: the five at once may share them, the two after went alone.
    const delta = (name: string) => (after.value(name) ?? 0) - (before.value(name) ?? 0);
    expect(delta('credits_group_commit_batch_size_sum')).toBe(7);
    expect(delta('credits_group_commit_batch_size_count')).toBeGreaterThanOrEqual(3);
    expect(delta('credits_group_commit_batch_size_count')).toBeLessThanOrEqual(7);

    const answers = after.all('credits_http_responses_total').filter(([labels]) => labels.route === CHARGES_ROUTE);
    expect(answers).toEqual([
      [{ method: 'POST', route: CHARGES_ROUTE, status: '201' }, 4],
      [{ method: 'POST', route: CHARGES_ROUTE, status: '402' }, 2],
      [{ method: 'POST', route: CHARGES_ROUTE, status: '403' }, 1],
      [{ method: 'POST', route: CHARGES_ROUTE, status: '404' }, 1],
      [{ method: 'POST', route: CHARGES_ROUTE, status: '422' }, 1],
    ]);
    expect(after.value('credits_http_request_duration_seconds_count', { method: 'POST', route: CHARGES_ROUTE })).toBe(9);
    // Labels stay bounded: a path that matches no route is "unmatched", never the path itself.
    await http(stackOf().api.url, 'GET', '/no/such/path/a1b2c3');
    const unmatched = (await scrapeApi()).all('credits_http_responses_total').filter(([labels]) => labels.route !== CHARGES_ROUTE && labels.status === '404');
    expect(unmatched).toEqual([[{ method: 'GET', route: 'unmatched', status: '404' }, 1]]);
  });

  it('API: paused jobs and accounts past their boundary, read from the database at each scrape', async () => {
    const { client } = stackOf();
    // What is left (under 100 credits) pays for fewer verified records than 300 bring: the job pauses.
    await client.createJob(ACCOUNT, { jobId: 'starved', feature: 'contact.email-check', userId: 'ana', idempotencyKey: 'starved', records: records('p', 300), start: true });
    await waitForJob('starved', 'paused');
    // A cancelling account has its boundary ahead too: it ends there, and nothing is written after it.
    await client.createAccount({ accountId: 'leaving', planId: 'data-license' });
    await client.cancelAccount('leaving');
    const now = await scrapeApi();
    expect([now.value('credits_jobs_paused', { reason: 'OUT_OF_CREDITS' }), now.value('credits_jobs_running'), now.value('credits_job_records_pending')]).toEqual([1, 0, 0]);
    expect([now.value('credits_accounts_past_boundary'), now.value('credits_account_boundary_overdue_seconds')]).toEqual([0, 0]);

    // The worker counted the records of both jobs that were stored, and holds none.
    const worker = await scrapeWorker();
    for (const [outcome, count] of Object.entries(await recordsOf(['small', 'starved']))) expect(worker.value('credits_job_records_total', { outcome })).toBe(count);
    expect(worker.value('credits_job_records_in_flight')).toBe(0);

    // A day after the first period's end by the API's clock, no workflow has crossed either boundary yet.
    const { period } = await client.getAccount(ACCOUNT);
    const end = Date.parse(period?.end ?? '');
    clockAheadMs = end + 86_400_000 - Date.now();
    try {
      const later = await scrapeApi();
      expect(later.value('credits_accounts_past_boundary')).toBe(2);
      expect(later.value('credits_account_boundary_overdue_seconds')).toBeGreaterThanOrEqual(86_400);
      expect(later.value('credits_account_boundary_overdue_seconds')).toBeLessThan(86_400 + 60);
    } finally {
      clockAheadMs = 0;
    }
  });

  it('worker: webhook delivery lag of every delivered event, and how far delivery has got when a receiver fails', async () => {
    const { pool } = stackOf();
    const { events } = await listEvents(pool, { after: 0, limit: 1000 });
    expect(events.length).toBeGreaterThanOrEqual(4);
    const receiver = await failingOnce(2);
    try {
      const activities = createWebhookActivities({ pool, webhook: { url: receiver.url, secret: 'metrics-test-webhook-secret' } });
      const deliver = (input: { after: number; limit: number }) => activities.deliverEvents(input);
      const heartbeats: unknown[] = [];
      // The first attempt's failure is expected: the SDK's warning about it would only be noise.
      const quiet = { logger: new DefaultLogger('ERROR') };
      const attempt = new MockActivityEnvironment(undefined, quiet);
      attempt.on('heartbeat', (details: unknown) => heartbeats.push(details));
      await expect(attempt.run(deliver, { after: 0, limit: 1000 })).rejects.toThrow('webhook receiver answered 500');
      const stuck = await scrapeWorker();
      expect(stuck.value('credits_webhook_delivery_lag_seconds_count')).toBe(2);
      // The third event is the oldest the receiver has not taken.
      expect(stuck.value('credits_webhook_delivered_until_timestamp_seconds')).toBe(Date.parse(events[2]?.occurredAt ?? '') / 1000);

      const retriedAt = Date.now();
      await new MockActivityEnvironment({ heartbeatDetails: heartbeats.at(-1) }, quiet).run(deliver, { after: 0, limit: 1000 });
      const caughtUp = await scrapeWorker();
      expect(caughtUp.value('credits_webhook_delivery_lag_seconds_count')).toBe(events.length);
      // Nothing is left: delivered up to when the retry read the outbox.
      expect(caughtUp.value('credits_webhook_delivered_until_timestamp_seconds')).toBeGreaterThanOrEqual(retriedAt / 1000);
      expect(caughtUp.value('credits_webhook_delivered_until_timestamp_seconds')).toBeLessThanOrEqual(Date.now() / 1000);
    } finally {
      await new Promise((resolve) => receiver.server.close(resolve));
    }
  });

  it('API: /metrics open by default, for an API token with METRICS_ACCESS=token, absent with off', async () => {
    const { pool, catalog, ledger, env, taskQueue } = stackOf();
    const answers: Record<string, number[]> = {};
    for (const metricsAccess of ['token', 'off'] satisfies MetricsAccess[]) {
      const deps = createApiDeps({ pool, catalog, ledger, client: env.client, taskQueue, tokens: [{ scope: 'read', token: API_TOKEN }], logger: pino({ level: 'silent' }), metricsAccess });
      const api = await startApiServer(deps, { port: 0 });
      try {
        answers[metricsAccess] = [(await http(api.url, 'GET', '/metrics', { token: null })).status, (await http(api.url, 'GET', '/metrics')).status];
      } finally {
        await api.close();
      }
    }
    expect(answers).toEqual({ token: [401, 200], off: [404, 404] });
    expect((await http(stackOf().api.url, 'GET', '/metrics', { token: null })).status).toBe(200);
  });
});

/** A webhook receiver that answers 500 to its request number `failing` (from 0) and 200 to every other. */
async function failingOnce(failing: number): Promise<{ server: Server; url: string }> {
  let received = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const status = received++ === failing ? 500 : 200;
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks` };
}
