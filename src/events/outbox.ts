import type { Queryable } from '../ledger/db.js';

export const EVENT_TYPES = ['job.started', 'job.paused', 'job.resumed', 'job.completed', 'job.cancelled'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface DomainEvent {
  type: EventType;
  accountId: string;
  jobId?: string;
  payload: Record<string, unknown>;
}

/** Appends an event to the outbox inside the caller's transaction: it exists only if the change does. */
export async function appendEvent(client: Queryable, event: DomainEvent, now: Date): Promise<void> {
  await client.query('INSERT INTO domain_events (event_type, account_id, job_id, payload, occurred_at) VALUES ($1, $2, $3, $4, $5)', [
    event.type,
    event.accountId,
    event.jobId ?? null,
    JSON.stringify(event.payload),
    now,
  ]);
}
