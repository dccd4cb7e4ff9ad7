/**
 * Every metric the engine exports, in one place (README, "Metrics"). A process has one registry:
 * the ledger, the API and the worker record into it, and each endpoint of the process (the API's
 * `/metrics`, the worker's metrics port) serves all of it, so a process that runs both (the dev
 * stack, the tests) reports each charge once. Labels take only bounded values: catalog feature ids,
 * outcome and error codes, route patterns, HTTP statuses; never an account, user, job or key.
 * A leaf: it imports nothing of the project, so every layer can record into it.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const registry = new Registry();
const registers = [registry];

/** Latencies of calls that go to the database once: from about a millisecond to a stalled connection. */
const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The `feature` label of a charge that named no feature of the catalog (an unknown id would be an unbounded label). */
export const NO_FEATURE = '';

export const ledgerMetrics = {
  charges: new Counter({
    name: 'credits_charges_total',
    help: 'Charges by catalog feature and outcome: charged, replayed (same idempotency key and request), a refusal code (INSUFFICIENT_CREDITS, FEATURE_NOT_IN_PLAN, ...) or error (the database failed).',
    labelNames: ['feature', 'outcome'] as const,
    registers,
  }),
  chargeDuration: new Histogram({
    name: 'credits_charge_duration_seconds',
    help: 'Time from a charge joining its group-commit batch (the wait for it included) to its outcome: charged, replayed, refused by the ledger, or a database failure.',
    buckets: LATENCY_BUCKETS_S,
    registers,
  }),
  batchSize: new Histogram({
    name: 'credits_group_commit_batch_size',
    help: 'Items (charges and job flushes) per group-commit transaction; a batch retried one item at a time counts as batches of one.',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers,
  }),
};

export const httpMetrics = {
  responses: new Counter({
    name: 'credits_http_responses_total',
    help: 'HTTP answers of the API by method, route pattern (unmatched: no route) and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  }),
  duration: new Histogram({
    name: 'credits_http_request_duration_seconds',
    help: 'Time the API took to answer, by method and route pattern.',
    labelNames: ['method', 'route'] as const,
    buckets: LATENCY_BUCKETS_S,
    registers,
  }),
};

export const jobMetrics = {
  records: new Counter({
    name: 'credits_job_records_total',
    help: "Job records whose result this worker stored (each once, with its charge), by outcome: verified (charged), not_found, failed (the provider could not answer; never charged).",
    labelNames: ['outcome'] as const,
    registers,
  }),
  inFlight: new Gauge({
    name: 'credits_job_records_in_flight',
    help: "Job records this worker's batches have read and not yet stored: at the provider, waiting for a flush, or in one.",
    registers,
  }),
};

export const webhookMetrics = {
  lag: new Histogram({
    name: 'credits_webhook_delivery_lag_seconds',
    help: "Time from an event's occurrence to its webhook receiver's 2xx answer.",
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    registers,
  }),
  deliveredUntil: new Gauge({
    name: 'credits_webhook_delivered_until_timestamp_seconds',
    help: "Every event that occurred before this instant was delivered, as of this worker's last delivery attempt (the oldest undelivered event's time, or the attempt's when none was left); 0 before its first attempt.",
    registers,
  }),
};

let nodeMetricsOn = false;

/** The process's metrics as Prometheus text, with Node's own (memory, CPU, event loop lag, GC) from the first scrape on. */
export async function processMetricsText(): Promise<string> {
  // Not at import: every process that loads the ledger (tests, the CLI) would start Node's monitors for nothing.
  if (!nodeMetricsOn) {
    collectDefaultMetrics({ register: registry });
    nodeMetricsOn = true;
  }
  return registry.metrics();
}

export const METRICS_CONTENT_TYPE = registry.contentType;

/**
 * What the API reads from the database at each scrape: facts of the whole deployment, not of a
 * process, in a registry of their own so that a scrape while the database is away still serves
 * the process's metrics (these are then absent, not stale or zero).
 */
export function createDatabaseGauges() {
  const own = new Registry();
  const registers = [own];
  return {
    registry: own,
    jobsRunning: new Gauge({ name: 'credits_jobs_running', help: 'Jobs running (their workflows enrich records).', registers }),
    jobsPaused: new Gauge({ name: 'credits_jobs_paused', help: 'Jobs paused, by pause reason (OUT_OF_CREDITS: waiting for resume).', labelNames: ['reason'] as const, registers }),
    recordsPending: new Gauge({ name: 'credits_job_records_pending', help: 'Records of running jobs without a result yet: the workers\' backlog.', registers }),
    pastBoundary: new Gauge({
      name: 'credits_accounts_past_boundary',
      help: 'Active or cancelling accounts whose current period has ended but whose boundary the account workflow has not crossed yet (no next period written ahead, or not yet cancelled).',
      registers,
    }),
    boundaryOverdue: new Gauge({
      name: 'credits_account_boundary_overdue_seconds',
      help: 'How long ago the oldest boundary not yet crossed fell; 0 when none is.',
      registers,
    }),
  };
}

export type DatabaseGauges = ReturnType<typeof createDatabaseGauges>;
