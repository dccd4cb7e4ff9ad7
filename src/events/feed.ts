import type pg from 'pg';
import { withTransaction } from '../ledger/db.js';
import { micros, microsToCredits } from '../money.js';
import { EVENT_AMOUNT_FIELDS, type EventType } from './outbox.js';

/** The most events one page returns. */
export const EVENTS_PAGE_MAX = 1000;

/** A domain event as the API and webhooks show it: amounts in credits, ids as strings. */
export interface EventView {
  /** Stable and increasing: the outbox row's id, as a string. Receivers deduplicate on it. */
  eventId: string;
  type: EventType;
  accountId: string;
  jobId: string | null;
  occurredAt: string;
  data: Record<string, unknown>;
}

export interface EventPage {
  events: EventView[];
  /** Pass as `after` to read the next page: the last event's id, or `after` itself when the page is empty. */
  nextAfter: number;
}

/** The stored payload of an event of `type` with its amounts (EVENT_AMOUNT_FIELDS) turned from integer micros into credits. */
function payloadInCredits(type: EventType, payload: Record<string, unknown>): Record<string, unknown> {
  const amounts = EVENT_AMOUNT_FIELDS[type];
  return Object.fromEntries(
    Object.entries(payload).map(([key, value]) => [key, amounts.includes(key) && typeof value === 'number' ? microsToCredits(micros(value)) : value]),
  );
}

interface EventRow {
  id: string;
  event_type: EventType;
  account_id: string;
  job_id: string | null;
  payload: Record<string, unknown>;
  occurred_at: Date;
}

/**
 * Events after the id `after`, oldest first, for one account or all. A reader that stores
 * `nextAfter` never misses an event: ids are handed out when a transaction inserts its event, not
 * when it commits, so the page is read under a SHARE lock on the outbox, which waits until every
 * transaction that inserted an event has committed or rolled back (and holds new inserts back for
 * the few milliseconds of the read). No id at or below the page's last can appear later.
 */
export async function listEvents(pool: pg.Pool, options: { after: number; limit: number; accountId?: string }): Promise<EventPage> {
  const { after, accountId } = options;
  if (!Number.isSafeInteger(after) || after < 0) throw new RangeError(`after must be a non-negative integer event id, not ${String(after)}`);
  if (!Number.isSafeInteger(options.limit) || options.limit < 1) throw new RangeError(`limit must be a positive integer, not ${String(options.limit)}`);
  const limit = Math.min(options.limit, EVENTS_PAGE_MAX);
  const rows = await withTransaction(pool, async (client) => {
    await client.query('LOCK TABLE domain_events IN SHARE MODE');
    const columns = 'SELECT event_id::text AS id, event_type, account_id, job_id, payload, occurred_at FROM domain_events';
    const { rows } =
      accountId === undefined
        ? await client.query<EventRow>(`${columns} WHERE event_id > $1 ORDER BY event_id LIMIT $2`, [after, limit])
        : await client.query<EventRow>(`${columns} WHERE account_id = $3 AND event_id > $1 ORDER BY event_id LIMIT $2`, [after, limit, accountId]);
    return rows;
  });
  const events = rows.map(
    (row): EventView => ({
      eventId: row.id,
      type: row.event_type,
      accountId: row.account_id,
      jobId: row.job_id,
      occurredAt: row.occurred_at.toISOString(),
      data: payloadInCredits(row.event_type, row.payload),
    }),
  );
  const last = events.at(-1);
  return { events, nextAfter: last ? Number(last.eventId) : after };
}
