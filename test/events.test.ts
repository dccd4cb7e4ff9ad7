import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createAccountActivities } from '../activities/account-activities.js';
import { createWebhookActivities } from '../activities/webhook-activities.js';
import { listEvents, type EventView } from '../src/events/feed.js';
import { appendEvent } from '../src/events/outbox.js';
import { verifyWebhookSignature } from '../src/events/webhook-signature.js';
import { withTransaction } from '../src/ledger/db.js';
import { microsToCredits } from '../src/money.js';
import { startAccount } from '../src/temporal/accounts.js';
import { startJob } from '../src/temporal/jobs.js';
import { startWebhookDelivery } from '../src/temporal/webhooks.js';
import { accountStateQuery, cancelUpdate, type OpenAccountView } from '../workflows/account-messages.js';
import { webhookStateQuery } from '../workflows/webhook-messages.js';
import { credits } from './support/database.js';
import { records } from './support/jobs.js';
import { eventually, useWorkerStack } from './support/temporal.js';

const TASK_QUEUE = 'events';
const SECRET = 'whsec_test_0123456789abcdef';

interface Delivery {
  method: string | undefined;
  headers: IncomingHttpHeaders;
  body: Buffer;
  status: number;
}

/** A webhook receiver on a free local port that answers 500 to the requests `fails` picks (by index from 0). */
async function startReceiver(fails: (index: number) => boolean): Promise<{ server: Server; url: string; deliveries: Delivery[] }> {
  const deliveries: Delivery[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const status = fails(deliveries.length) ? 500 : 200;
      deliveries.push({ method: request.method, headers: request.headers, body: Buffer.concat(chunks), status });
      response.writeHead(status, { 'Content-Type': 'text/plain' }).end(status === 200 ? 'ok' : 'try again');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/credits-webhooks`, deliveries };
}

const receiver = await startReceiver((index) => index < 2);
// Registered before the stack's hooks, so it runs after the worker has stopped (after-hooks run in reverse).
afterAll(() => new Promise((resolve) => receiver.server.close(resolve)));

const stack = useWorkerStack({ server: 'time-skipping', taskQueue: TASK_QUEUE, worker: { webhook: { url: receiver.url, secret: SECRET } } });

const serverNow = async () => new Date(await stack().env.currentTimeMs());

async function allEvents(accountId?: string): Promise<EventView[]> {
  return (await listEvents(stack().pool, { after: 0, limit: 1000, ...(accountId ? { accountId } : {}) })).events;
}

/** A funded account running one lead.email-finder job of `count` records to its end. */
async function completedJob(accountId: string, jobId: string, count: number): Promise<void> {
  const { env, ledger, jobs } = stack();
  const now = await serverNow();
  await ledger.createAccount({ accountId, planId: 'sales-email-pro', users: [{ userId: 'admin', role: 'admin' }, { userId: 'sdr', role: 'member' }], now });
  await ledger.topUp({ accountId, userId: 'admin', credits: credits(1000), idempotencyKey: `${accountId}:topup`, now });
  await jobs.createJob({ accountId, jobId, feature: 'lead.email-finder', userId: 'sdr', idempotencyKey: jobId, records: records(jobId, count), now });
  const job = await startJob(env.client, TASK_QUEUE, { jobId, accountId, feature: 'lead.email-finder', batchSize: 20 });
  expect((await job.result()).status).toBe('completed');
}

describe('the events feed', () => {
  it('pages through real job and period events in id order, amounts in credits', async () => {
    const { env, pool, jobs } = stack();
    await completedJob('feed-a', 'feed-job-a', 40);
    await completedJob('feed-b', 'feed-job-b', 10);
    const startAt = (await serverNow()).toISOString();
    // Every 30 days: no other boundary while this file runs.
    await startAccount(env.client, TASK_QUEUE, { accountId: 'feed-c', planId: 'notify-5k', seats: 1, timeZone: 'UTC', startAt, trial: false });
    await eventually(() => allEvents('feed-c'), (events) => events.length === 1, 'the first period of feed-c');

    const all = await allEvents();
    expect(all.map((event) => `${event.accountId} ${event.type}`)).toEqual([
      'feed-a job.started',
      'feed-a job.completed',
      'feed-b job.started',
      'feed-b job.completed',
      'feed-c period.renewed',
    ]);

    // Pages of two, following nextAfter, give the same events exactly once, then an empty page.
    const paged: EventView[] = [];
    let after = 0;
    for (let page = 0; page < 10; page++) {
      const { events, nextAfter } = await listEvents(pool, { after, limit: 2 });
      expect(events.length).toBeLessThanOrEqual(2);
      if (events.length === 0) {
        expect(nextAfter).toBe(after);
        break;
      }
      expect(nextAfter).toBe(Number(events.at(-1)?.eventId));
      paged.push(...events);
      after = nextAfter;
    }
    expect(paged).toEqual(all);
    const ids = all.map((event) => Number(event.eventId));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);

    // Amounts are credits (decimal numbers), matching what the job itself reports.
    const view = await jobs.getJob('feed-job-a', await serverNow());
    const [started, completed] = await allEvents('feed-a');
    expect(started).toMatchObject({ type: 'job.started', jobId: 'feed-job-a', data: { status: 'running', reserved: 200, records: 40 } });
    expect(completed).toMatchObject({
      type: 'job.completed',
      jobId: 'feed-job-a',
      data: { status: 'completed', charged: microsToCredits(view.credits.charged), released: microsToCredits(view.credits.released), stopReason: null },
    });
    expect(completed?.data.charged).toBe(5 * view.progress.verified);
    expect(new Date(completed?.occurredAt ?? '').toISOString()).toBe(completed?.occurredAt);
    expect(all.at(-1)).toMatchObject({ type: 'period.renewed', accountId: 'feed-c', jobId: null, data: { periodStart: startAt, credits: 10_000 } });

    // One account's events only; a bad cursor is refused; a huge limit is capped, not refused.
    expect((await allEvents('feed-b')).map((event) => event.jobId)).toEqual(['feed-job-b', 'feed-job-b']);
    expect((await listEvents(pool, { after: 0, limit: 1000, accountId: 'nobody' })).events).toEqual([]);
    await expect(listEvents(pool, { after: -1, limit: 10 })).rejects.toThrow(RangeError);
    expect((await listEvents(pool, { after: 0, limit: 1_000_000 })).events).toHaveLength(all.length);
  });

  it('never skips an event whose transaction commits after a later one', async () => {
    const { pool } = stack();
    const { nextAfter: start } = await listEvents(pool, { after: 0, limit: 1000 });
    const now = await serverNow();
    const slow = await pool.connect();
    try {
      await slow.query('BEGIN');
      await appendEvent(slow, { type: 'credits.expired', accountId: 'feed-a', payload: { credits: credits(1) } }, now);
      await withTransaction(pool, (client) => appendEvent(client, { type: 'credits.expired', accountId: 'feed-a', payload: { credits: credits(2) } }, now));
      // The later event is committed, the earlier one not yet: a reader must wait, not return the later one alone.
      const page = listEvents(pool, { after: start, limit: 10 });
      await eventually(
        async () => (await pool.query("SELECT count(*)::int AS waiting FROM pg_locks WHERE relation = 'domain_events'::regclass AND NOT granted")).rows[0] as { waiting: number },
        (row) => row.waiting > 0,
        'the reader waiting for the open transaction',
      );
      await slow.query('COMMIT');
      const { events } = await page;
      expect(events.map((event) => event.data.credits)).toEqual([1, 2]);
      expect(Number(events[0]?.eventId)).toBeLessThan(Number(events[1]?.eventId));
    } finally {
      slow.release();
    }
  });
});

describe('period events', () => {
  it('renew and expire exactly once per period boundary, even when the activities run again', async () => {
    const { env, ledger, pool, catalog } = stack();
    const accountId = 'periods-e';
    const startAt = (await serverNow()).toISOString();
    const handle = await startAccount(env.client, TASK_QUEUE, { accountId, planId: 'demo-fast', seats: 1, timeZone: 'UTC', startAt, trial: false });
    await eventually(() => ledger.balance({ accountId, now: new Date(startAt) }), (balance) => balance.available === credits(100), 'the first allowance');
    await ledger.setUser({ accountId, userId: 'member', role: 'member', creditsAllowed: true, now: new Date(startAt) });
    await ledger.charge({ accountId, userId: 'member', feature: 'email.captured', quantity: 30, idempotencyKey: 'spend-30', now: await serverNow() });
    const first = (await eventually(() => handle.query(accountStateQuery), (view) => view.status === 'active', 'the account open')) as OpenAccountView;

    const crossBoundary = async (end: string, count: number): Promise<EventView[]> => {
      const skip = new Date(end).getTime() - (await env.currentTimeMs()) + 1;
      if (skip > 0) await env.sleep(skip);
      return eventually(() => allEvents(accountId), (events) => events.length >= count, `${accountId} past ${end}`);
    };

    const p1 = { start: first.period.end, end: new Date(new Date(first.period.end).getTime() + 10_000).toISOString() };
    const p2End = new Date(new Date(p1.end).getTime() + 10_000).toISOString();
    await crossBoundary(p1.start, 3);
    await crossBoundary(p1.end, 5);

    // A retried boundary or grant (same inputs as the workflow's) writes nothing new.
    const activities = createAccountActivities({ ledger, catalog, pool });
    const terms = await activities.planTerms({ planId: 'demo-fast', seats: 1 });
    expect(await activities.expireEnded({ accountId, now: p1.start })).toBe(0);
    expect(await activities.expireEnded({ accountId, now: p1.end })).toBe(0);
    await activities.grantAllowance({ accountId, subscription: startAt, terms, period: first.period, revision: 0, now: startAt });

    const events = await allEvents(accountId);
    const openedAt = events[0]?.occurredAt ?? '';
    expect(new Date(openedAt).getTime()).toBeGreaterThanOrEqual(new Date(startAt).getTime());
    expect(events.map((event) => ({ type: event.type, occurredAt: event.occurredAt, data: event.data }))).toEqual([
      { type: 'period.renewed', occurredAt: openedAt, data: { periodStart: first.period.start, periodEnd: first.period.end, credits: 100 } },
      { type: 'credits.expired', occurredAt: p1.start, data: { grantId: expect.any(String) as string, source: 'allowance', credits: 70, periodStart: first.period.start, periodEnd: p1.start } },
      { type: 'period.renewed', occurredAt: p1.start, data: { periodStart: p1.start, periodEnd: p1.end, credits: 100 } },
      { type: 'credits.expired', occurredAt: p1.end, data: { grantId: expect.any(String) as string, source: 'allowance', credits: 100, periodStart: p1.start, periodEnd: p1.end } },
      { type: 'period.renewed', occurredAt: p1.end, data: { periodStart: p1.end, periodEnd: p2End, credits: 100 } },
    ]);
    expect(events.every((event) => event.jobId === null)).toBe(true);
    expect((await ledger.audit({ accountId })).problems).toEqual([]);
    // Cancelled, it ends with its period instead of renewing every ten seconds during the next test.
    await handle.executeUpdate(cancelUpdate);
  });
});

describe('signed webhooks', () => {
  it('deliver every event at least once, in order, signed, retrying a failing receiver', async () => {
    const { env } = stack();
    const handle = await startWebhookDelivery(env.client, TASK_QUEUE);
    // Starting again (a second worker, a restart) keeps the one delivery workflow.
    expect((await startWebhookDelivery(env.client, TASK_QUEUE)).workflowId).toBe(handle.workflowId);

    // Events written while delivery runs are delivered too.
    const accepted = () => Promise.resolve(receiver.deliveries.filter((delivery) => delivery.status === 200));
    await eventually(accepted, (deliveries) => deliveries.length > 0, 'a first accepted delivery');
    await completedJob('hook-d', 'hook-job-d', 5);
    const expected = await allEvents();
    expect(expected.filter((event) => event.accountId === 'hook-d').map((event) => event.type)).toEqual(['job.started', 'job.completed']);

    const lastId = expected.at(-1)?.eventId;
    await eventually(accepted, (deliveries) => deliveries.some((delivery) => delivery.headers['credits-event-id'] === lastId), 'the last event delivered');

    const { deliveries } = receiver;
    // The first two attempts failed (500) and were retried with the same event.
    expect(deliveries.slice(0, 3).map((delivery) => delivery.status)).toEqual([500, 500, 200]);
    expect(new Set(deliveries.slice(0, 3).map((delivery) => delivery.headers['credits-event-id']))).toEqual(new Set([expected[0]?.eventId]));

    const bodyById = new Map<string, string>();
    for (const delivery of deliveries) {
      const body = delivery.body.toString('utf8');
      const eventId = delivery.headers['credits-event-id'];
      expect(delivery.method).toBe('POST');
      expect(delivery.headers['content-type']).toBe('application/json');
      expect(verifyWebhookSignature(delivery.body, delivery.headers['credits-signature'] as string, SECRET)).toBe(true);
      expect(verifyWebhookSignature(delivery.body, delivery.headers['credits-signature'] as string, 'another-secret-0123456789')).toBe(false);
      expect(typeof eventId).toBe('string');
      expect((JSON.parse(body) as EventView).eventId).toBe(eventId);
      // A redelivery is the same event, byte for byte.
      if (typeof eventId === 'string') {
        expect(bodyById.get(eventId) ?? body).toBe(body);
        bodyById.set(eventId, body);
      }
    }

    // In order of first accepted receipt: the feed's events, as the feed shows them, in id order
    // (the cancelled account of the previous test may add its last event meanwhile).
    const firstAccepted: EventView[] = [];
    for (const delivery of deliveries) {
      if (delivery.status !== 200) continue;
      const event = JSON.parse(delivery.body.toString('utf8')) as EventView;
      if (!firstAccepted.some((seen) => seen.eventId === event.eventId)) firstAccepted.push(event);
    }
    expect(firstAccepted.slice(0, expected.length)).toEqual(expected);
    const acceptedIds = firstAccepted.map((event) => Number(event.eventId));
    expect(acceptedIds).toEqual([...acceptedIds].sort((a, b) => a - b));

    const state = await handle.query(webhookStateQuery);
    expect(state.cursor).toBeGreaterThanOrEqual(Number(lastId));
    expect(state.delivered).toBeGreaterThanOrEqual(expected.length);
    await handle.terminate('test done');
  });

  it('resume a retried delivery after the last event the receiver accepted', async () => {
    const { pool } = stack();
    const flaky = await startReceiver((index) => index === 2);
    try {
      const activities = createWebhookActivities({ pool, webhook: { url: flaky.url, secret: SECRET } });
      const deliver = (input: { after: number; limit: number }) => activities.deliverEvents(input);
      const ids = (await listEvents(pool, { after: 0, limit: 4 })).events.map((event) => event.eventId);
      const heartbeats: unknown[] = [];
      const attempt = new MockActivityEnvironment();
      attempt.on('heartbeat', (details: unknown) => heartbeats.push(details));
      await expect(attempt.run(deliver, { after: 0, limit: 4 })).rejects.toThrow(`webhook receiver answered 500 to event ${ids[2] ?? ''}`);

      // The retry (the same input, with the failed attempt's last heartbeat) starts at the failed event.
      const retry = new MockActivityEnvironment({ heartbeatDetails: heartbeats.at(-1) });
      expect(await retry.run(deliver, { after: 0, limit: 4 })).toEqual({ cursor: Number(ids[3]), delivered: 4 });
      expect(flaky.deliveries.map((delivery) => [delivery.headers['credits-event-id'], delivery.status])).toEqual([
        [ids[0], 200],
        [ids[1], 200],
        [ids[2], 500],
        [ids[2], 200],
        [ids[3], 200],
      ]);
    } finally {
      await new Promise((resolve) => flaky.server.close(resolve));
    }
  });
});
