/**
 * The webhook delivery workflow's life on the time-skipping server, scenario by scenario: a
 * receiver that accepts, one that rejects (500) before it accepts, and a delivery that continues
 * as new. Each scenario's histories are what `npm run test:record-histories` writes to
 * test/histories (webhook-*.pb), so the replay test proves later delivery workflow code still
 * replays them (the one delivery workflow of a namespace runs across releases).
 *
 * The scenarios share the outbox and one receiver, so they run one after the other: each writes
 * its own events, starts its own workflow (its own id) at the cursor just before them, and
 * terminates it once they are delivered. The poll interval is long and time skipping is locked
 * outside `env.sleep`, so a workflow waiting for new events stays put: its history is the same on
 * every recording.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listEvents, type EventView } from '../src/events/feed.js';
import { appendEvent } from '../src/events/outbox.js';
import { verifyWebhookSignature } from '../src/events/webhook-signature.js';
import { withTransaction } from '../src/ledger/db.js';
import { webhookStateQuery, type WebhookDeliveryInput } from '../workflows/webhook-messages.js';
import type { webhookDeliveryWorkflow } from '../workflows/webhooks.js';
import { credits } from './support/database.js';
import { recordHistories } from './support/histories.js';
import { eventually, useWorkerStack } from './support/temporal.js';

const TASK_QUEUE = 'webhook-lifecycle';
const SECRET = 'whsec_lifecycle_0123456789abcdef';
const ACCOUNT_ID = 'webhook-lifecycle';
/** Longer than any scenario: a workflow that has delivered everything waits here until terminated. */
const POLL_INTERVAL_MS = 60 * 60 * 1000;

interface Received {
  eventId: string;
  status: number;
  event: EventView;
}

/** One receiver for the file; each scenario resets what it has received and which requests it rejects. */
const receiver = await (async () => {
  const state: { received: Received[]; rejects: (index: number) => boolean } = { received: [], rejects: () => false };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const signed = verifyWebhookSignature(body, String(request.headers['credits-signature']), SECRET);
      const status = !signed ? 401 : state.rejects(state.received.length) ? 500 : 200;
      state.received.push({ eventId: String(request.headers['credits-event-id']), status, event: JSON.parse(body.toString('utf8')) as EventView });
      response.writeHead(status, { 'Content-Type': 'text/plain' }).end(status === 200 ? 'ok' : 'try again');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/credits-webhooks`,
    state,
    reset(rejects: (index: number) => boolean = () => false): void {
      state.received = [];
      state.rejects = rejects;
    },
  };
})();
// Registered before the stack's hooks, so it runs after the worker has stopped (after-hooks run in reverse).
afterAll(() => new Promise((resolve) => receiver.server.close(resolve)));

const stack = useWorkerStack({ server: 'time-skipping', taskQueue: TASK_QUEUE, worker: { webhook: { url: receiver.url, secret: SECRET } } });

const serverNow = async () => new Date(await stack().env.currentTimeMs());

beforeAll(async () => {
  await stack().ledger.createAccount({ accountId: ACCOUNT_ID, planId: 'sales-email-pro', users: [{ userId: 'admin', role: 'admin' }], now: await serverNow() });
});

/** The id of the outbox's last event (0 when empty): a scenario delivers only what it writes after it. */
async function lastEventId(): Promise<number> {
  let after = 0;
  for (;;) {
    const { events, nextAfter } = await listEvents(stack().pool, { after, limit: 1000 });
    if (events.length === 0) return after;
    after = nextAfter;
  }
}

/** Writes `count` events to the outbox (credits.expired of 1, 2, … credits) and returns them as the feed shows them. */
async function writeEvents(count: number, from: number): Promise<EventView[]> {
  const now = await serverNow();
  for (let index = 0; index < count; index++) {
    await withTransaction(stack().pool, (client) => appendEvent(client, { type: 'credits.expired', accountId: ACCOUNT_ID, payload: { credits: credits(index + 1) } }, now));
  }
  const { events } = await listEvents(stack().pool, { after: from, limit: 1000 });
  expect(events).toHaveLength(count);
  return events;
}

async function startDelivery(workflowId: string, input: WebhookDeliveryInput): Promise<WorkflowHandle<typeof webhookDeliveryWorkflow>> {
  return stack().env.client.workflow.start<typeof webhookDeliveryWorkflow>('webhookDeliveryWorkflow', {
    workflowId,
    taskQueue: TASK_QUEUE,
    args: [{ pollIntervalMs: POLL_INTERVAL_MS, ...input }],
  });
}

/** Waits until the workflow (whichever run is current) reports every one of `events` delivered. */
async function deliveredUpTo(handle: WorkflowHandle<typeof webhookDeliveryWorkflow>, events: EventView[]) {
  const last = Number(events.at(-1)?.eventId);
  return eventually(() => handle.query(webhookStateQuery), (state) => state.cursor >= last, `delivery up to event ${last}`);
}

/** The events the receiver accepted, each once, in the order it received them, ids increasing. */
function expectAcceptedOnceInOrder(events: EventView[]): void {
  const accepted = receiver.state.received.filter((delivery) => delivery.status === 200);
  expect(accepted.map((delivery) => delivery.eventId)).toEqual(events.map((event) => event.eventId));
  expect(accepted.map((delivery) => delivery.event)).toEqual(events);
  const ids = accepted.map((delivery) => Number(delivery.eventId));
  expect(ids).toEqual([...ids].sort((a, b) => a - b));
  expect(new Set(ids).size).toBe(ids.length);
  expect(receiver.state.received.every((delivery) => delivery.status !== 401)).toBe(true);
}

/** Ends the never-ending workflow and records its runs (terminated first, so the recording is fixed). */
async function finish(handle: WorkflowHandle<typeof webhookDeliveryWorkflow>, name: string): Promise<void> {
  await handle.terminate('scenario done');
  await recordHistories(stack().env.client, handle.workflowId, name);
}

describe('webhook delivery, scenario by scenario', () => {
  it('delivers a few events, in batches, to a receiver that accepts, then waits for more', async () => {
    receiver.reset();
    const cursor = await lastEventId();
    const events = await writeEvents(5, cursor);
    const handle = await startDelivery('webhook-deliver', { cursor, batchSize: 2 });

    const state = await deliveredUpTo(handle, events);
    expect(state).toMatchObject({ cursor: Number(events.at(-1)?.eventId), delivered: 5 });
    expect(state.lastDeliveryAt).not.toBeNull();
    expectAcceptedOnceInOrder(events);
    expect(receiver.state.received).toHaveLength(5);

    // Events written while it waits are delivered at its next poll (skipped to on the server's clock).
    const more = await writeEvents(2, Number(events.at(-1)?.eventId));
    await stack().env.sleep(POLL_INTERVAL_MS + 1000);
    expect(await deliveredUpTo(handle, more)).toMatchObject({ cursor: Number(more.at(-1)?.eventId), delivered: 7 });
    expectAcceptedOnceInOrder([...events, ...more]);
    await finish(handle, 'webhook-deliver');
  });

  it('retries a receiver that answers 500, resuming after the last event it accepted', async () => {
    // The very first request, and the first for the second event (mid-batch), are rejected once each.
    receiver.reset((index) => index === 0 || index === 2);
    const cursor = await lastEventId();
    const events = await writeEvents(5, cursor);
    const handle = await startDelivery('webhook-retry', { cursor, batchSize: 3 });

    const state = await deliveredUpTo(handle, events);
    expect(state).toMatchObject({ cursor: Number(events.at(-1)?.eventId), delivered: 5 });
    expectAcceptedOnceInOrder(events);
    const [e1, e2, e3, e4, e5] = events.map((event) => event.eventId);
    expect(receiver.state.received.map((delivery) => [delivery.eventId, delivery.status])).toEqual([
      [e1, 500],
      [e1, 200],
      [e2, 500],
      [e2, 200],
      [e3, 200],
      [e4, 200],
      [e5, 200],
    ]);
    // A redelivery is the same event.
    expect(receiver.state.received[0]?.event).toEqual(receiver.state.received[1]?.event);
    await finish(handle, 'webhook-retry');
  });

  it('continues as new every few rounds with its cursor and count, and delivers on', async () => {
    receiver.reset();
    const cursor = await lastEventId();
    const events = await writeEvents(9, cursor);
    // Full batches of two, two rounds a run: runs deliver 4, 4, then 1 and wait.
    const handle = await startDelivery('webhook-continue-as-new', { cursor, batchSize: 2, iterationsPerRun: 2 });

    const state = await deliveredUpTo(handle, events);
    expect(state).toMatchObject({ cursor: Number(events.at(-1)?.eventId), delivered: 9 });
    expectAcceptedOnceInOrder(events);
    expect(receiver.state.received).toHaveLength(9);

    const description = await handle.describe();
    expect(description.runId).not.toBe(description.raw.workflowExecutionInfo?.firstRunId);
    // The current run continued the one before it, which ended by continuing as new into it. Its
    // history is read until its close event is there: under CI load the time-skipping server once
    // answered a closed run's history without it.
    const { events: historyEvents } = await stack().env.client.workflow.getHandle(handle.workflowId, description.runId).fetchHistory();
    const previousRunId = historyEvents?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    expect(previousRunId).toBeTruthy();
    const previous = await eventually(
      () => stack().env.client.workflow.getHandle(handle.workflowId, previousRunId ?? undefined).fetchHistory(),
      (history) => Boolean(history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes),
      'the previous run to show that it continued as new',
    );
    expect(previous.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId).toBe(description.runId);
    await finish(handle, 'webhook-continue-as-new');
  });
});
