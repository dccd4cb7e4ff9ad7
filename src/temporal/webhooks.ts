import type { Client, WorkflowHandle } from '@temporalio/client';
import { WEBHOOK_WORKFLOW_ID } from '../../workflows/webhook-messages.js';
import type { webhookDeliveryWorkflow } from '../../workflows/webhooks.js';
import { startOnce } from './start-once.js';

/**
 * Starts the webhook delivery workflow (one per namespace, id `webhooks`); while it runs, repeating
 * the call returns it. A first start delivers every event from the beginning of the outbox
 * (`after` 0), so nothing written before webhooks were turned on is lost; receivers deduplicate on
 * `Credits-Event-Id`. An operator who restarts it after terminating it can pass `after` to skip
 * events already delivered.
 */
export async function startWebhookDelivery(client: Client, taskQueue: string, options: { after?: number } = {}): Promise<WorkflowHandle<typeof webhookDeliveryWorkflow>> {
  return startOnce<typeof webhookDeliveryWorkflow>(client, 'webhookDeliveryWorkflow', {
    workflowId: WEBHOOK_WORKFLOW_ID,
    taskQueue,
    args: [{ cursor: options.after ?? 0 }],
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    staticSummary: 'Signed webhook delivery of domain events',
    staticDetails:
      'POSTs every domain event of the outbox to WEBHOOK_URL in event-id order, signed with WEBHOOK_SECRET (Credits-Signature: sha256=HMAC of the body), at least once: a failed delivery is retried with backoff (1 s up to 1 min, forever) from the last accepted event.',
  });
}
