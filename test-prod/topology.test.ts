/**
 * Faults on the production topology (`npm run stack:prod`): the real Temporal server with 16
 * history shards on PostgreSQL, two workers, two API processes behind one port. After each fault
 * the ledger must be exact: every chargeable record charged once, each period granted once, every
 * charge applied once, and the audit clean.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startProductionStack, type ProductionStack } from '../src/devstack/prod.js';
import { createPool } from '../src/ledger/db.js';
import { auditLedger } from '../src/ledger/audit.js';
import { recordFacts, ledgerChargedForJob, records } from '../test/support/jobs.js';
import { eventually } from '../test/support/temporal.js';
import { jobWorkflowId } from '../workflows/job-messages.js';

const TOKEN = 'prod-topology-test-token-0123456789';
const JOB_FEATURE = 'lead.email-finder';
const JOB_PRICE_MICROS = 5_000_000;
const CHARGEABLE = ['deliverable', 'risky'];

let stack: ProductionStack;
let pool: pg.Pool;
let temporalConnection: Connection;
let temporalClient: Client;

/** The servers' recent output, printed when a test fails: the stack runs detached, so it is all there is to go on. */
const LINES_KEPT_PER_SERVER = 200;
const recentOutput = new Map<string, string[]>();
function keepLine(server: string, line: string): void {
  const lines = recentOutput.get(server) ?? [];
  lines.push(`${new Date().toISOString()} ${line}`);
  if (lines.length > LINES_KEPT_PER_SERVER) lines.shift();
  recentOutput.set(server, lines);
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function call(method: string, path: string, body?: unknown, base = stack.apiUrl): Promise<Answer> {
  const answer = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
}

async function expectStatus(answer: Promise<Answer>, status: number): Promise<Record<string, unknown>> {
  const { status: got, body } = await answer;
  expect(got, JSON.stringify(body)).toBe(status);
  return body;
}

async function openAccount(accountId: string, planId: string): Promise<void> {
  await expectStatus(call('POST', '/v1/accounts', { accountId, planId, seats: 1, timeZone: 'UTC', users: [{ userId: 'admin', role: 'admin' }] }), 201);
}

/** A funded account with a started job of `count` records. */
async function startJob(accountId: string, jobId: string, count: number): Promise<void> {
  await openAccount(accountId, 'sales-email-pro');
  await expectStatus(call('POST', `/v1/accounts/${accountId}/top-ups`, { credits: count * 5, userId: 'admin', idempotencyKey: `fund-${jobId}` }), 201);
  await expectStatus(call('POST', `/v1/accounts/${accountId}/jobs`, { jobId, feature: JOB_FEATURE, userId: 'admin', idempotencyKey: jobId, records: records(jobId, count) }), 201);
  await expectStatus(call('POST', `/v1/jobs/${jobId}/start`), 200);
}

async function jobStatus(jobId: string): Promise<string> {
  const { body } = await call('GET', `/v1/jobs/${jobId}`);
  return String(body.status);
}

/** Every chargeable record charged once at the price, nothing else, and the ledger agreeing. */
async function expectChargedOnce(jobId: string, count: number): Promise<void> {
  const facts = await recordFacts(pool, jobId);
  expect(facts.stored).toBe(count);
  const { rows } = await pool.query<{ chargeable: number; wrong: number }>(
    `SELECT count(*) FILTER (WHERE outcome = ANY($2))::int AS chargeable,
            count(*) FILTER (WHERE (outcome = ANY($2)) <> (charged = $3) OR charged NOT IN (0, $3))::int AS wrong
       FROM job_records WHERE job_id = $1`,
    [jobId, CHARGEABLE, JOB_PRICE_MICROS],
  );
  expect(rows[0]?.wrong).toBe(0);
  expect(facts.chargedCredits).toBe((rows[0]?.chargeable ?? -1) * JOB_PRICE_MICROS);
  expect(await ledgerChargedForJob(pool, jobId)).toBe(facts.chargedCredits);
}

/** Each account's allowance periods: one grant per period, contiguous, each ended one expired. */
async function expectPeriodsOnce(accountIds: readonly string[], atLeast: number): Promise<void> {
  const { rows } = await pool.query<{ account_id: string; periods: number; duplicates: number; gaps: number; late: number }>(
    `SELECT account_id, count(*)::int AS periods,
            (count(*) - count(DISTINCT effective_at))::int AS duplicates,
            count(*) FILTER (WHERE previous_end IS NOT NULL AND previous_end <> effective_at)::int AS gaps,
            count(*) FILTER (WHERE expires_at < now() - interval '20 seconds' AND expired_at IS NULL)::int AS late
       FROM (SELECT g.*, lag(expires_at) OVER (PARTITION BY account_id ORDER BY effective_at) AS previous_end
               FROM grants g WHERE source = 'allowance' AND account_id = ANY($1)) periods
      GROUP BY account_id ORDER BY account_id`,
    [accountIds],
  );
  expect(rows).toHaveLength(accountIds.length);
  for (const row of rows) {
    expect({ account: row.account_id, duplicates: row.duplicates, gaps: row.gaps, late: row.late }).toEqual({ account: row.account_id, duplicates: 0, gaps: 0, late: 0 });
    expect(row.periods).toBeGreaterThanOrEqual(atLeast);
  }
}

async function available(accountId: string, base = stack.apiUrl): Promise<number> {
  const { body } = await call('GET', `/v1/accounts/${accountId}`, undefined, base);
  return (body.balance as { available: number }).available;
}

async function expectAuditClean(): Promise<void> {
  const report = await auditLedger(pool);
  expect(report.problems).toEqual([]);
}

beforeAll(async () => {
  stack = await startProductionStack({
    dataDir: mkdtempSync(join(tmpdir(), 'credits-prod-')),
    apiTokens: [TOKEN],
    // Slow enough that a job is still running when the fault comes.
    processEnv: { SIMULATED_LATENCY_MS: '10', ENRICHMENT_CONCURRENCY: '4' },
    log: keepLine,
  });
  pool = createPool({ connectionString: stack.databaseUrl, max: 4 });
  temporalConnection = await Connection.connect({ address: stack.temporalAddress });
  temporalClient = new Client({ connection: temporalConnection, namespace: stack.settings.namespace });
});

afterEach(({ task }) => {
  if (task.result?.state !== 'fail') return;
  for (const [server, lines] of recentOutput) console.error(`--- ${server}: its last ${lines.length} lines ---\n${lines.join('\n')}`);
});

afterAll(async () => {
  await temporalConnection.close();
  await pool.end();
  await stack.stop();
});

describe('the production topology', () => {
  it('runs on the real Temporal server with several history shards, two workers and two API processes', async () => {
    expect(stack.settings.shards).toBeGreaterThan(1);
    expect(stack.workers).toHaveLength(2);
    expect(stack.apiUrls).toHaveLength(2);
    // Each worker runs with the heap limit of deploy/production.env, set by its launcher (scripts/worker.sh): V8 adds its young generation to it.
    const heapMb = Number(stack.settings.processEnv.WORKER_HEAP_MB);
    for (const server of ['worker-1', 'worker-2']) {
      const limitMb = Number((recentOutput.get(server) ?? []).map((line) => /"v8HeapLimitMb":(\d+)/.exec(line)?.[1]).find((found) => found !== undefined));
      expect(limitMb, server).toBeGreaterThanOrEqual(heapMb);
      expect(limitMb, server).toBeLessThanOrEqual(heapMb + 100);
    }
    for (const url of stack.apiUrls) await expectStatus(call('GET', '/v1/catalog', undefined, url), 200);
    // The Web UI lists the namespace's workflows through its own API.
    const listed = await fetch(`${stack.temporalUiUrl}/api/v1/namespaces/${stack.settings.namespace}/workflows`);
    expect(listed.status).toBe(200);
  });

  it('one of two workers SIGKILLed mid-job and mid-rollover: the other takes over, each record charged once, each period granted once', async () => {
    const accounts = Array.from({ length: 8 }, (_, index) => `kill-rollover-${index}`);
    for (const accountId of accounts) await openAccount(accountId, 'demo-fast');
    await startJob('kill-job', 'kill-job', 3_000);
    await eventually(() => recordFacts(pool, 'kill-job'), (facts) => facts.stored > 300, 'the job under way');
    // The worker that runs the job's batch right now (its identity is pid@host).
    const running = await eventually(
      () => temporalClient.workflow.getHandle(jobWorkflowId('kill-job')).describe(),
      (description) => (description.raw.pendingActivities ?? []).some((activity) => activity.lastWorkerIdentity),
      'the job batch on a worker',
    );
    const identity = running.raw.pendingActivities?.find((activity) => activity.lastWorkerIdentity)?.lastWorkerIdentity ?? '';
    const victim = stack.workers.findIndex((worker) => identity.startsWith(`${worker.pid}@`));
    expect(victim).toBeGreaterThanOrEqual(0);
    stack.workers[victim]?.child.kill('SIGKILL');
    await eventually(() => jobStatus('kill-job'), (status) => status === 'completed', 'the job completed by the other worker', 180_000);
    await expectChargedOnce('kill-job', 3_000);
    // Two more 10-second boundaries with one worker.
    await sleep(21_000);
    await expectPeriodsOnce(accounts, 3);
    await stack.restartWorker(victim);
    await expectAuditClean();
  });

  it('the Temporal server restarted mid-job and mid-rollover: everything completes once it is back', async () => {
    const accounts = Array.from({ length: 8 }, (_, index) => `restart-rollover-${index}`);
    for (const accountId of accounts) await openAccount(accountId, 'demo-fast');
    await startJob('restart-job', 'restart-job', 3_000);
    await eventually(() => recordFacts(pool, 'restart-job'), (facts) => facts.stored > 300, 'the job under way');
    await stack.restartTemporal();
    await eventually(() => jobStatus('restart-job'), (status) => status === 'completed', 'the job completed after the restart', 180_000);
    await expectChargedOnce('restart-job', 3_000);
    await sleep(21_000);
    await expectPeriodsOnce(accounts, 3);
    await expectAuditClean();
  });

  it('PostgreSQL restarted under charge load: 503s with a code during the outage, never a 500 or a hang; retried charges apply once', async () => {
    const accountId = 'pg-restart';
    await openAccount(accountId, 'sales-email-pro');
    await expectStatus(call('POST', `/v1/accounts/${accountId}/top-ups`, { credits: 1_000, userId: 'admin', idempotencyKey: 'fund' }), 201);
    const before = await available(accountId);
    const statuses = new Map<number, number>();
    const outageCodes = new Set<string>();
    let slowest = 0;
    /** Charges `key` until it is applied, as a client with retries would. */
    const chargeUntilApplied = async (key: string): Promise<void> => {
      for (;;) {
        const started = Date.now();
        const answer = await call('POST', `/v1/accounts/${accountId}/charges`, { feature: 'ai.variable', userId: 'admin', idempotencyKey: key }).catch((): Answer => ({ status: 0, body: {} }));
        slowest = Math.max(slowest, Date.now() - started);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        if (answer.status === 201) return;
        if (answer.status === 503) outageCodes.add(String((answer.body.error as { code?: string } | undefined)?.code));
        await sleep(200);
      }
    };
    // Eight clients charge new keys until a second after PostgreSQL is back.
    const keys: string[] = [];
    let restarted = false;
    const client = async (clientIndex: number): Promise<void> => {
      for (let index = 0; !restarted; index++) {
        const key = `pg-charge-${clientIndex}-${index}`;
        keys.push(key);
        await chargeUntilApplied(key);
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, (_, index) => client(index)));
    await sleep(500);
    await stack.restartPostgres(3_000);
    await sleep(1_000);
    restarted = true;
    await load;
    const after = await available(accountId);
    expect(before - after).toBe(keys.length);
    expect([...statuses.keys()].filter((status) => status !== 201 && status !== 503)).toEqual([]);
    expect(statuses.get(503) ?? 0).toBeGreaterThan(0);
    // The database's outage says so; Temporal (on the same PostgreSQL) may be the one that answers first.
    expect([...outageCodes].filter((code) => code !== 'DATABASE_UNAVAILABLE' && code !== 'UNAVAILABLE')).toEqual([]);
    expect(slowest).toBeLessThan(20_000);
    await expectAuditClean();
  });

  it('an API process killed mid-request: the retry on the other process with the same key applies each charge once', async () => {
    const accountId = 'api-killed';
    await openAccount(accountId, 'sales-email-pro');
    await expectStatus(call('POST', `/v1/accounts/${accountId}/top-ups`, { credits: 1_000, userId: 'admin', idempotencyKey: 'fund' }), 201);
    const before = await available(accountId);
    const [first, second] = stack.apiUrls;
    const keys = Array.from({ length: 64 }, (_, index) => `killed-${index}`);
    const charge = (key: string, base: string) => call('POST', `/v1/accounts/${accountId}/charges`, { feature: 'ai.variable', userId: 'admin', idempotencyKey: key }, base);
    const inFlight = keys.map((key) => charge(key, first ?? '').catch(() => null));
    stack.apis[0]?.child.kill('SIGKILL');
    await Promise.all(inFlight);
    const retried = await Promise.all(keys.map((key) => charge(key, second ?? '')));
    expect(retried.map((answer) => answer.status)).toEqual(keys.map(() => 201));
    const after = await available(accountId, second);
    expect(before - after).toBe(keys.length);
    await expectAuditClean();
  });
});
