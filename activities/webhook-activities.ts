import { activityInfo, cancellationSignal, heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import { listEvents, type EventView } from '../src/events/feed.js';
import { signWebhookBody, WEBHOOK_HEADERS } from '../src/events/webhook-signature.js';
import { webhookMetrics } from '../src/metrics/metrics.js';

export interface WebhookTarget {
  url: string;
  secret: string;
}

/** Every field is optional so that a worker without webhooks still builds its activities. */
export interface WebhookActivityDeps {
  pool?: pg.Pool;
  webhook?: WebhookTarget;
  fetch?: typeof fetch;
  /** Longest wait for one delivery's response; it then counts as failed and is retried. */
  webhookTimeoutMs?: number;
}

export interface DeliveryResult {
  /** The id of the last event delivered: the workflow's next `after`. */
  cursor: number;
  /** Events delivered by this activity, over all its attempts. */
  delivered: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** Where an earlier attempt of this activity got to, from its last heartbeat. */
function resumed(after: number): DeliveryResult {
  const details: unknown = activityInfo().heartbeatDetails;
  const earlier = typeof details === 'object' && details !== null ? (details as Partial<Record<keyof DeliveryResult, unknown>>) : {};
  if (typeof earlier.cursor !== 'number' || earlier.cursor <= after) return { cursor: after, delivered: 0 };
  return { cursor: earlier.cursor, delivered: typeof earlier.delivered === 'number' ? earlier.delivered : 0 };
}

export function createWebhookActivities(deps: WebhookActivityDeps) {
  const send = deps.fetch ?? fetch;
  const timeoutMs = deps.webhookTimeoutMs ?? DEFAULT_TIMEOUT_MS;

  async function post(target: WebhookTarget, event: EventView): Promise<void> {
    const body = JSON.stringify(event);
    const signal = AbortSignal.any([cancellationSignal(), AbortSignal.timeout(timeoutMs)]);
    const response = await send(target.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        [WEBHOOK_HEADERS.eventId]: event.eventId,
        [WEBHOOK_HEADERS.signature]: signWebhookBody(body, target.secret),
      },
      body,
      signal,
      redirect: 'error',
    });
    await response.body?.cancel();
    if (!response.ok) {
      // Retryable: the receiver may be deploying or overloaded; the activity's retry policy backs off.
      throw ApplicationFailure.retryable(`webhook receiver answered ${response.status} to event ${event.eventId}`, 'WEBHOOK_REJECTED', { status: response.status });
    }
  }

  return {
    /**
     * POSTs the events after `after` to the webhook URL, one at a time in id order, each signed.
     * Heartbeats the cursor after every delivered event, so a retried attempt (after a failed
     * delivery, a timeout or a dead worker) resumes after the last event the receiver accepted:
     * at least once, in order. Returns the new cursor.
     */
    async deliverEvents(input: { after: number; limit: number }): Promise<DeliveryResult> {
      const { pool, webhook } = deps;
      if (!pool || !webhook) {
        // Retryable on purpose: another worker of the task queue, configured with WEBHOOK_URL, takes it.
        throw ApplicationFailure.retryable('this worker has no WEBHOOK_URL/WEBHOOK_SECRET (or no database pool) to deliver webhooks with', 'WEBHOOKS_NOT_CONFIGURED');
      }
      const progress = resumed(input.after);
      // The page holds every event that had committed when it was read (listEvents), so a page
      // that is not full means nothing older than this instant is left once it is delivered.
      const listedAt = Date.now();
      const limit = Math.max(1, input.limit - progress.delivered);
      const { events } = await listEvents(pool, { after: progress.cursor, limit });
      heartbeat({ ...progress });
      for (const event of events) {
        const occurredAt = Date.parse(event.occurredAt);
        // Until the receiver takes it, this event is the oldest one it has not got.
        webhookMetrics.deliveredUntil.set(occurredAt / 1000);
        await post(webhook, event);
        webhookMetrics.lag.observe(Math.max(0, Date.now() - occurredAt) / 1000);
        progress.cursor = Number(event.eventId);
        progress.delivered++;
        heartbeat({ ...progress });
      }
      if (events.length < limit) webhookMetrics.deliveredUntil.set(listedAt / 1000);
      return progress;
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
