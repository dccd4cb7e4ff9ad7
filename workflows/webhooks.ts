import { continueAsNew, proxyActivities, setCurrentDetails, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { WebhookActivities } from '../activities/webhook-activities.js';
import { webhookStateQuery, type WebhookDeliveryInput, type WebhookDeliveryState } from './webhook-messages.js';

const DEFAULT_BATCH_SIZE = 100;
const DEFAULT_POLL_INTERVAL_MS = 1_000;
const DEFAULT_ITERATIONS_PER_RUN = 500;

// A receiver that is down is retried forever, backing off to once a minute; events wait in the
// outbox meanwhile. Each attempt heartbeats its cursor, so a retry resumes after the last accepted event.
const delivery = proxyActivities<WebhookActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  // No maximumAttempts: unlimited attempts.
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', backoffCoefficient: 2 },
});

/**
 * Delivers the outbox's domain events to the webhook URL, at least once and in event-id order:
 * the workflow holds the cursor (the last accepted event id), asks the delivery activity to send
 * the next events, sleeps when there is nothing new, and continues as new with the cursor.
 */
export async function webhookDeliveryWorkflow(input: WebhookDeliveryInput = {}): Promise<never> {
  const batchSize = input.batchSize ?? DEFAULT_BATCH_SIZE;
  const pollIntervalMs = input.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const iterationsPerRun = input.iterationsPerRun ?? DEFAULT_ITERATIONS_PER_RUN;
  const state: WebhookDeliveryState = { cursor: input.cursor ?? 0, delivered: input.deliveredBefore ?? 0, lastDeliveryAt: null };
  setHandler(webhookStateQuery, () => ({ ...state }));

  const publish = (): void => {
    setCurrentDetails(
      `Delivered every event up to id **${state.cursor}** (${state.delivered} deliveries)` +
        (state.lastDeliveryAt ? `, last at ${state.lastDeliveryAt}.` : '.'),
    );
  };
  publish();

  for (let iteration = 0; iteration < iterationsPerRun && !workflowInfo().continueAsNewSuggested; iteration++) {
    const result = await delivery.deliverEvents({ after: state.cursor, limit: batchSize });
    if (result.cursor > state.cursor) {
      state.cursor = result.cursor;
      state.delivered += result.delivered;
      state.lastDeliveryAt = new Date(Date.now()).toISOString();
      publish();
    }
    // A full batch means more may be waiting: deliver again at once.
    if (result.delivered < batchSize) await sleep(pollIntervalMs);
  }
  return continueAsNew<typeof webhookDeliveryWorkflow>({ ...input, cursor: state.cursor, deliveredBefore: state.delivered });
}
