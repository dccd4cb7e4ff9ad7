import type { Queryable } from '../ledger/db.js';

export const EVENT_TYPES = [
  'job.started',
  'job.paused',
  'job.resumed',
  'job.completed',
  'job.cancelled',
  'job.failed',
  'period.renewed',
  'credits.expired',
  'balance.low',
  'balance.depleted',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * Which payload fields of each event are amounts, stored as integer micros and shown as credits:
 * declared per event where the events are, so a new event states its amounts and a field of one
 * event is never taken for an amount because another event has a field of that name.
 */
export const EVENT_AMOUNT_FIELDS: Readonly<Record<EventType, readonly string[]>> = {
  'job.started': ['reserved'],
  'job.paused': [],
  'job.resumed': ['reserved'],
  'job.completed': ['charged', 'released'],
  'job.cancelled': ['charged', 'released'],
  'job.failed': ['charged', 'released'],
  'period.renewed': ['credits'],
  'credits.expired': ['credits'],
  'balance.low': ['available', 'threshold'],
  'balance.depleted': ['available', 'threshold'],
};

export interface DomainEvent {
  type: EventType;
  accountId: string;
  jobId?: string;
  /** Amounts in payloads are micros (integers); the feed shows them as credits. */
  payload: Record<string, unknown>;
}

/** Appends an event to the outbox inside the caller's transaction: it exists only if the change does. */
export async function appendEvent(client: Queryable, event: DomainEvent, now: Date): Promise<void> {
  await client.query({
    name: 'credits_append_event',
    text: 'INSERT INTO domain_events (event_type, account_id, job_id, payload, occurred_at) VALUES ($1, $2, $3, $4, $5)',
    values: [event.type, event.accountId, event.jobId ?? null, JSON.stringify(event.payload), now],
  });
}

/**
 * Appends `period.renewed` for the period of the account that starts at `periodStart`, once
 * (`credits_period_renewed`, migration 1730000000020, holds the rule): the allowance grants that
 * take effect at that instant (and were not revoked before it) make up the period's credits. Call it
 * in the transaction that holds the account's lock (any ledger operation on the account takes it),
 * so two callers cannot both find the event missing. Returns whether it appended the event; nothing
 * happens when the period has no allowance or already has its event. One round trip.
 */
export async function appendPeriodRenewed(client: Queryable, accountId: string, periodStart: Date, now: Date): Promise<boolean> {
  const { rows } = await client.query<{ appended: boolean }>({
    name: 'credits_period_renewed',
    text: 'SELECT credits_period_renewed($1::text, $2::timestamptz, $3::timestamptz) AS appended',
    values: [accountId, periodStart, now],
  });
  return rows[0]?.appended === true;
}
