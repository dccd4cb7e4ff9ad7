import { defineQuery } from '@temporalio/workflow';

/** One delivery workflow per namespace: its id is fixed, so starting it is idempotent. */
export const WEBHOOK_WORKFLOW_ID = 'webhooks';

export interface WebhookDeliveryInput {
  /**
   * Deliver events after this id. A first start begins at 0, so every event in the outbox is
   * delivered, including those written before webhooks were configured; continue-as-new carries it.
   */
  cursor?: number;
  /** Events per delivery activity. */
  batchSize?: number;
  /** Wait between polls when there was nothing to deliver. */
  pollIntervalMs?: number;
  /** Delivery rounds per run before continuing as new. */
  iterationsPerRun?: number;
  /** Events delivered by earlier runs, carried for the operator's view. */
  deliveredBefore?: number;
}

export interface WebhookDeliveryState {
  /** The id of the last event the receiver accepted. */
  cursor: number;
  delivered: number;
  lastDeliveryAt: string | null;
}

export const webhookStateQuery = defineQuery<WebhookDeliveryState>('webhookState');
