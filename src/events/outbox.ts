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
  await client.query('INSERT INTO domain_events (event_type, account_id, job_id, payload, occurred_at) VALUES ($1, $2, $3, $4, $5)', [
    event.type,
    event.accountId,
    event.jobId ?? null,
    JSON.stringify(event.payload),
    now,
  ]);
}

/**
 * Appends `period.renewed` for the period of the account that starts at `periodStart`, once: the
 * allowance grants that take effect at that instant (and were not revoked before it) make up the
 * period's credits. Call it in the transaction that holds the account's lock (any ledger operation
 * on the account takes it), so two callers cannot both find the event missing. Returns whether it
 * appended the event; nothing happens when the period has no allowance or already has its event.
 */
export async function appendPeriodRenewed(client: Queryable, accountId: string, periodStart: Date, now: Date): Promise<boolean> {
  const { rows } = await client.query<{ period_end: Date | null; credits: number | string }>(
    `SELECT max(expires_at) AS period_end, sum(amount)::bigint AS credits FROM grants
      WHERE account_id = $1 AND source = 'allowance' AND effective_at = $2 AND (expired_at IS NULL OR expired_at > $2)
     HAVING count(*) > 0`,
    [accountId, periodStart],
  );
  const period = rows[0];
  if (!period?.period_end) return false;
  const existing = await client.query(
    `SELECT 1 FROM domain_events WHERE account_id = $1 AND event_type = 'period.renewed' AND payload->>'periodStart' = $2 LIMIT 1`,
    [accountId, periodStart.toISOString()],
  );
  if (existing.rows.length > 0) return false;
  const payload = { periodStart: periodStart.toISOString(), periodEnd: period.period_end.toISOString(), credits: Number(period.credits) };
  await appendEvent(client, { type: 'period.renewed', accountId, payload }, now);
  return true;
}
