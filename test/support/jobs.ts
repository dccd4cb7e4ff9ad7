import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { ZERO_MICROS, type Micros } from '../../src/money.js';
import { jobWorkflowId } from '../../workflows/job-messages.js';

/** Per-record facts straight from the database, for assertions that do not trust the job's own counters. */
export async function recordFacts(pool: pg.Pool, jobId: string): Promise<{ stored: number; charged: number; chargedCredits: Micros; pending: number }> {
  const { rows } = await pool.query<{ stored: number; charged: number; charged_credits: Micros; pending: number }>(
    `SELECT count(*) FILTER (WHERE outcome IS NOT NULL)::bigint AS stored,
            count(*) FILTER (WHERE charged > 0)::bigint AS charged,
            coalesce(sum(charged), 0)::bigint AS charged_credits,
            count(*) FILTER (WHERE outcome IS NULL)::bigint AS pending
       FROM job_records WHERE job_id = $1`,
    [jobId],
  );
  const row = rows[0];
  if (!row) throw new Error('no row');
  return { stored: row.stored, charged: row.charged, chargedCredits: row.charged_credits, pending: row.pending };
}

/** Credits the ledger charged for a job, from its operations: must equal what its records say. */
export async function ledgerChargedForJob(pool: pg.Pool, jobId: string): Promise<Micros> {
  const { rows } = await pool.query<{ credits: Micros }>(
    "SELECT coalesce(sum(credits), 0)::bigint AS credits FROM operations WHERE job_id = $1 AND kind = 'hold_charge'",
    [jobId],
  );
  return rows[0]?.credits ?? ZERO_MICROS;
}

export async function eventTypes(pool: pg.Pool, jobId: string): Promise<string[]> {
  const { rows } = await pool.query<{ event_type: string }>('SELECT event_type FROM domain_events WHERE job_id = $1 ORDER BY event_id', [jobId]);
  return rows.map((row) => row.event_type);
}

export const records = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, index) => ({ recordId: `${prefix}-${index + 1}`, input: { email: `${prefix}-${index + 1}@example.com` } }));

/**
 * The most batch activities of a job's workflow that were running at once (scheduled, not yet
 * closed), over every run of it: what its history says, whatever the workers did.
 */
export async function mostBatchesAtOnce(client: Client, jobId: string): Promise<number> {
  const description = await client.workflow.getHandle(jobWorkflowId(jobId)).describe();
  let runId: string | null | undefined = description.raw.workflowExecutionInfo?.firstRunId;
  let most = 0;
  while (runId) {
    const events = (await client.workflow.getHandle(jobWorkflowId(jobId), runId).fetchHistory()).events ?? [];
    const open = new Set<string>();
    for (const event of events) {
      if (event.activityTaskScheduledEventAttributes?.activityType?.name === 'processBatch') open.add(String(event.eventId));
      const closed =
        event.activityTaskCompletedEventAttributes ?? event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes ?? event.activityTaskCanceledEventAttributes;
      if (closed) open.delete(String(closed.scheduledEventId));
      most = Math.max(most, open.size);
    }
    runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
  }
  return most;
}
