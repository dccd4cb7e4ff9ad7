import { Client, type WorkflowClientInterceptor } from '@temporalio/client';
import { workflowMetadataQuery } from '@temporalio/workflow';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createApiDeps } from '../src/api/deps.js';
import { startApiServer } from '../src/api/server.js';
import { createCreditsClient, type JobView } from '../src/client/client.js';
import { loadCatalog } from '../src/catalog/catalog.js';
import { createSimulatedProvider } from '../src/providers/simulated.js';
import { jobWorkflowId } from '../workflows/job-messages.js';
import { JOB_STATUS } from '../workflows/search-attributes.js';
import { API_TOKEN, useApiStack } from './support/api-stack.js';
import { errorCode, http, refusal } from './support/http.js';
import { ledgerChargedForJob, records } from './support/jobs.js';
import { eventually } from './support/temporal.js';

/** Long enough for the update-with-start to reach the server, far shorter than the gateway's deadline. */
const CUT_OFF_AFTER_MS = 500;
const PRICE = 5; // lead.email-finder: charged when deliverable or risky
// A provider slow enough that a job can be watched and cancelled while it runs.
const stackOf = useApiStack({ provider: createSimulatedProvider(loadCatalog(), { verifiedRate: 0.6, latencyMs: 2 }), batchConcurrency: 16 });
const call = (method: string, path: string, options?: Parameters<typeof http>[3]) => http(stackOf().api.url, method, path, options);

async function account(accountId: string, seats = 1): Promise<void> {
  await stackOf().client.createAccount({ accountId, planId: 'sales-email-pro', seats, users: [{ userId: 'admin', role: 'admin' }, { userId: 'sdr', role: 'member' }] });
}

/**
 * Starts a new draft job of a new account `name` through an API whose task queue no worker polls
 * (with `client` instead of the stack's, when given): its answer, how long it took, and the status
 * of the job's workflow then. The workflow is terminated afterwards.
 */
async function startJobNoWorkerPolls(name: string, options: { client?: Client; callDeadlineMs?: number }): Promise<{ answer: JobView; elapsedMs: number; workflowStatus: string }> {
  const { pool, catalog, ledger, env } = stackOf();
  const jobId = `${name}-1`;
  await account(name);
  await stackOf().client.createJob(name, { jobId, feature: 'lead.email-finder', userId: 'sdr', idempotencyKey: jobId, records: records(name, 10) });
  const api = await startApiServer(
    createApiDeps({
      pool,
      catalog,
      ledger,
      client: options.client ?? env.client,
      taskQueue: 'no-worker',
      tokens: [{ scope: 'admin', token: API_TOKEN }],
      logger: pino({ level: 'silent' }),
      ...(options.callDeadlineMs === undefined ? {} : { callDeadlineMs: options.callDeadlineMs }),
    }),
    { port: 0 },
  );
  const workflow = env.client.workflow.getHandle(jobWorkflowId(jobId));
  try {
    const started = Date.now();
    const answer = await createCreditsClient({ baseUrl: api.url, token: API_TOKEN }).startJob(jobId);
    return { answer, elapsedMs: Date.now() - started, workflowStatus: (await workflow.describe()).status.name };
  } finally {
    await api.close();
    await workflow.terminate('the test is over: no worker polls its task queue');
  }
}

const waitForJob = (jobId: string, done: (job: JobView) => boolean, what: string) => eventually(() => stackOf().client.getJob(jobId), done, what, 60_000);

function expectSettled(job: JobView): void {
  expect(job.progress.verified + job.progress.notFound + job.progress.failed).toBe(job.progress.processed);
  expect(job.credits.charged).toBe(job.progress.verified * PRICE);
  expect(job.credits.held).toBe(0);
  expect(job.credits.released).toBeCloseTo(job.credits.reserved - job.credits.charged, 6);
}

describe('bulk jobs over HTTP', () => {
  it('takes records inline, as a JSON array and as an NDJSON stream, runs to completion and charges only verified records', async () => {
    await account('loaded', 100);
    const created = await call('POST', '/v1/accounts/loaded/jobs', {
      json: { jobId: 'leads-1', feature: 'lead.email-finder', userId: 'sdr', idempotencyKey: 'leads-1', records: records('inline', 100) },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ jobId: 'leads-1', accountId: 'loaded', feature: 'lead.email-finder', status: 'draft', pauseReason: null, progress: { total: 100, processed: 0 } });
    const replay = await stackOf().client.createJob('loaded', { jobId: 'leads-1', feature: 'lead.email-finder', userId: 'sdr', idempotencyKey: 'leads-1', records: records('inline', 100) });
    expect(replay.progress.total).toBe(100);

    await expect(stackOf().client.appendRecords('leads-1', records('array', 50))).resolves.toEqual({ jobId: 'leads-1', added: 50, total: 150 });
    // The stream repeats the array's records: a record already in the job is ignored, so a failed stream can be sent again whole.
    const streamed = await stackOf().client.streamRecords('leads-1', [...records('array', 50), ...records('stream', 12_000)]);
    expect(streamed).toEqual({ jobId: 'leads-1', added: 12_000, total: 12_150 });

    const badLine = await call('POST', '/v1/jobs/leads-1/records', {
      body: `${JSON.stringify({ recordId: 'ok-1' })}\n{"recordId": ""}\n`,
      contentType: 'application/x-ndjson',
    });
    expect([badLine.status, errorCode(badLine)]).toEqual([422, 'VALIDATION_FAILED']);
    expect(JSON.stringify(badLine.body)).toContain('line 2');
    // The chunk holding the bad line is refused whole: its valid first line was not appended either.
    expect((await stackOf().client.getJob('leads-1')).progress.total).toBe(12_150);
    const notJson = await call('POST', '/v1/jobs/leads-1/records', { body: '{"recordId": "x"\n', contentType: 'application/x-ndjson' });
    expect([notJson.status, errorCode(notJson)]).toEqual([400, 'MALFORMED_JSON']);

    const started = await stackOf().client.startJob('leads-1');
    expect(['running', 'completed']).toContain(started.status);
    expect((await stackOf().client.startJob('leads-1')).jobId).toBe('leads-1');
    const late = await refusal(stackOf().client.appendRecords('leads-1', records('late', 1)));
    expect([late.status, late.code]).toEqual([409, 'JOB_STATE_CONFLICT']);

    const done = await waitForJob('leads-1', (job) => job.status === 'completed', 'leads-1 to complete');
    expect(done.progress.total).toBe(12_150);
    expect(done.progress.processed).toBe(12_150);
    expect(done.credits.reserved).toBe(12_150 * PRICE);
    expectSettled(done);
    expect(await ledgerChargedForJob(stackOf().pool, 'leads-1')).toBe(done.credits.charged * 1_000_000);

    const results = [];
    let after = 0;
    for (let page = 0; page < 20; page++) {
      const result = await stackOf().client.jobResults('leads-1', { after, limit: 1000 });
      results.push(...result.results);
      if (result.nextAfter === null) break;
      after = result.nextAfter;
    }
    expect(results).toHaveLength(12_150);
    expect(results.reduce((sum, result) => sum + result.charged, 0)).toBe(done.credits.charged);
    expect(results.filter((result) => result.charged > 0).every((result) => ['deliverable', 'risky'].includes(result.outcome))).toBe(true);

    const listed = await stackOf().client.listJobs('loaded', { status: 'completed' });
    expect(listed.jobs.map((job) => job.jobId)).toEqual(['leads-1']);
    const events = await stackOf().client.events({ accountId: 'loaded' });
    const jobEvents = events.events.filter((event) => event.jobId === 'leads-1').map((event) => event.type);
    expect(jobEvents).toEqual(['job.started', 'job.completed']);
  });

  it('pauses when credits run out, refuses to resume until credits exist, stays paused after a top-up, and resumes on request', async () => {
    await account('short'); // 1,000 credits: 200 verified records
    const job = await stackOf().client.createJob('short', { feature: 'lead.email-finder', userId: 'sdr', idempotencyKey: 'big-import', records: records('short', 600), start: true });
    expect(job.jobId).toMatch(/^job_/);
    const paused = await waitForJob(job.jobId, (current) => current.status === 'paused', 'the job to pause');
    expect(paused.pauseReason).toBe('OUT_OF_CREDITS');
    expect(paused.progress.processed).toBeLessThan(600);
    expect((await stackOf().client.getAccount('short')).balance.available).toBeLessThan(PRICE);

    const refused = await refusal(stackOf().client.resumeJob(job.jobId));
    expect([refused.status, refused.code]).toEqual([402, 'INSUFFICIENT_CREDITS']);
    expect(refused.details).toMatchObject({ needed: expect.any(Number) as number, available: expect.any(Number) as number });
    expect((await stackOf().client.getJob(job.jobId)).status).toBe('paused');

    await stackOf().client.topUp('short', { credits: 3000, userId: 'admin', idempotencyKey: 'rescue' });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await stackOf().client.getJob(job.jobId)).toMatchObject({ status: 'paused', pauseReason: 'OUT_OF_CREDITS', progress: { processed: paused.progress.processed } });

    const resumed = await stackOf().client.resumeJob(job.jobId);
    expect(['running', 'completed']).toContain(resumed.status);
    const done = await waitForJob(job.jobId, (current) => current.status === 'completed', 'the resumed job to complete');
    expect(done.progress.processed).toBe(600);
    expectSettled(done);
    const twice = await refusal(stackOf().client.resumeJob(job.jobId));
    expect([twice.status, twice.code]).toEqual([409, 'JOB_STATE_CONFLICT']);

    const events = (await stackOf().client.events({ accountId: 'short' })).events.filter((event) => event.jobId === job.jobId).map((event) => event.type);
    expect(events).toEqual(['job.started', 'job.paused', 'job.resumed', 'job.completed']);
  });

  it("a paused job says what it still needs and what the account has: in its view, a failed resume, JobStatus and the Web UI's details", async () => {
    const { client, env } = stackOf();
    await client.createAccount({ accountId: 'needy', planId: 'sales-email-pro', timeZone: 'Europe/Paris', users: [{ userId: 'admin', role: 'admin' }] });
    await client.charge('needy', { feature: 'lead.email-finder', quantity: 200, userId: 'admin', idempotencyKey: 'spend-all' });
    // 139 records at 5 credits: 695 to reserve, and nothing left to reserve it from.
    const started = await client.createJob('needy', { jobId: 'needy-1', feature: 'lead.email-finder', userId: 'admin', idempotencyKey: 'needy-1', records: records('n', 139), start: true });
    expect(started).toMatchObject({ status: 'paused', pauseReason: 'OUT_OF_CREDITS', timeZone: 'Europe/Paris', credits: { held: 0, needed: 695, accountAvailable: 0 } });

    await client.topUp('needy', { credits: 3, userId: 'admin', idempotencyKey: 'not-enough' });
    expect((await client.getJob('needy-1')).credits).toMatchObject({ held: 0, needed: 695, accountAvailable: 3 });
    // The resume reserves the 3 credits, which pay for no record: it refuses with what is still missing, as the view then says.
    const refused = await refusal(client.resumeJob('needy-1'));
    expect([refused.status, refused.code, refused.details]).toEqual([402, 'INSUFFICIENT_CREDITS', { needed: 692, available: 0 }]);
    const after = await client.getJob('needy-1');
    expect(after).toMatchObject({ status: 'paused', credits: { reserved: 3, held: 3, needed: 692, accountAvailable: 0 } });
    expect((await client.listJobs('needy')).jobs).toEqual([after]);

    const workflow = env.client.workflow.getHandle(jobWorkflowId('needy-1'));
    expect((await workflow.describe()).typedSearchAttributes.get(JOB_STATUS)).toBe('paused');
    const listed = await eventually(
      async () => {
        const ids: string[] = [];
        for await (const execution of env.client.workflow.list({ query: `JobStatus = "paused" AND AccountId = "needy"` })) ids.push(execution.workflowId);
        return ids;
      },
      (ids) => ids.length > 0,
      'the paused job listed by JobStatus',
    );
    expect(listed).toEqual([jobWorkflowId('needy-1')]);
    const { currentDetails } = await workflow.query(workflowMetadataQuery);
    expect(currentDetails).toMatch(/At \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?\+0[12]:00: 692 credits still needed for its pending records, 0 available on the account\./);
    expect(currentDetails).toContain('Waiting for an explicit resume (`credits resume needy-1`)');

    const cancelled = await client.cancelJob('needy-1');
    expect(cancelled).toMatchObject({ status: 'cancelled', credits: { held: 0, released: 3, needed: 0, accountAvailable: 3 } });
    // The workflow upserts it once its run has ended the job too, just after the cancel answered.
    await eventually(() => workflow.describe(), (description) => description.typedSearchAttributes.get(JOB_STATUS) === 'cancelled', 'JobStatus cancelled');
  });

  it('cancels a draft at once and a running job after its batch in flight, releasing what it still held', async () => {
    await account('cancels', 200);
    const draft = await stackOf().client.createJob('cancels', { jobId: 'draft-1', feature: 'lead.email-finder', userId: 'sdr', idempotencyKey: 'draft-1', records: records('d', 10) });
    const cancelledDraft = await stackOf().client.cancelJob(draft.jobId);
    expect(cancelledDraft).toMatchObject({ status: 'cancelled', credits: { reserved: 0, charged: 0 } });
    const restart = await refusal(stackOf().client.startJob(draft.jobId));
    expect([restart.status, restart.code]).toEqual([409, 'JOB_STATE_CONFLICT']);
    const resumeDraft = await refusal(stackOf().client.resumeJob(draft.jobId));
    expect(resumeDraft.code).toBe('JOB_STATE_CONFLICT');

    const running = await stackOf().client.createJob('cancels', { jobId: 'long-1', feature: 'lead.email-finder', userId: 'sdr', idempotencyKey: 'long-1' });
    await stackOf().client.streamRecords(running.jobId, records('l', 25_000));
    await stackOf().client.startJob(running.jobId);
    await waitForJob(running.jobId, (job) => job.progress.processed > 0, 'the long job to make progress');
    const cancelled = await stackOf().client.cancelJob(running.jobId);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.progress.processed).toBeLessThan(25_000);
    expectSettled(cancelled);
    expect(cancelled.credits.released).toBeGreaterThan(0);
    const again = await refusal(stackOf().client.cancelJob(running.jobId));
    expect([again.status, again.code]).toEqual([409, 'JOB_STATE_CONFLICT']);
    expect((await stackOf().client.getAccount('cancels')).balance.held).toBe(0);
  });

  it('starts a job in one call to Temporal: the answer is running with its credits reserved, and no draft is seen afterwards', async () => {
    await account('one-call', 60); // 60,000 credits: the 10,000 records' 50,000 are reserved whole
    await stackOf().client.createJob('one-call', { jobId: 'one-call-1', feature: 'lead.email-finder', userId: 'sdr', idempotencyKey: 'one-call-1', records: records('o', 10_000) });
    const started = await stackOf().client.startJob('one-call-1');
    expect(started).toMatchObject({ status: 'running', credits: { reserved: 10_000 * PRICE } });
    expect(started.credits.held).toBeGreaterThan(0);
    expect((await stackOf().client.getJob('one-call-1')).status).not.toBe('draft');
    // The workflow was started with its 'started' update (update-with-start), and answered it once.
    const history = await stackOf().env.client.workflow.getHandle(jobWorkflowId('one-call-1')).fetchHistory();
    const updates = (history.events ?? []).flatMap((event) => event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ?? []);
    expect(updates).toEqual(['started']);

    const created = await stackOf().client.createJob('one-call', { feature: 'lead.email-finder', userId: 'sdr', idempotencyKey: 'one-call-2', records: records('p', 100), start: true });
    expect(created.status).not.toBe('draft');
    expect(created.credits.reserved).toBeGreaterThan(0);

    // The cancel, too, answers once the job has ended: cancelled, its hold released.
    const cancelled = await stackOf().client.cancelJob('one-call-1');
    expect(cancelled.status).toBe('cancelled');
    expectSettled(cancelled);
    expectSettled(await waitForJob(created.jobId, (job) => job.status === 'completed', 'the job started at its creation to complete'));
  });

  it('answers a start that fails as it reserves with the failed job, in the same call', async () => {
    await account('barred');
    await stackOf().client.createJob('barred', { jobId: 'barred-1', feature: 'lead.email-finder', userId: 'sdr', idempotencyKey: 'barred-1', records: records('b', 10) });
    await stackOf().client.setUser('barred', 'sdr', { role: 'member', creditsAllowed: false });
    const failed = await stackOf().client.startJob('barred-1');
    expect(failed).toMatchObject({ status: 'failed', credits: { reserved: 0, held: 0 } });
    expect(failed.stopReason).toContain('CREDITS_DISALLOWED');
  });

  it('answers a start that no worker takes in time with the draft, its workflow started and waiting for one', async () => {
    const { answer, elapsedMs, workflowStatus } = await startJobNoWorkerPolls('unattended', { callDeadlineMs: 2_000 });
    expect(elapsedMs).toBeLessThan(10_000);
    expect(answer).toMatchObject({ status: 'draft', credits: { reserved: 0 } });
    expect(workflowStatus).toBe('RUNNING');
  });

  it('answers a start whose update call is cancelled under it with the draft, its workflow started and waiting for a worker', async () => {
    const { env } = stackOf();
    // The update-with-start call is cancelled on the wire, as one cut off by its deadline can be:
    // the client reports it as "timed out or cancelled" with a CANCELLED status, not DEADLINE_EXCEEDED.
    const cutOff: WorkflowClientInterceptor = {
      startUpdateWithStart: (input, next) => env.connection.withAbortSignal(AbortSignal.timeout(CUT_OFF_AFTER_MS), () => next(input)),
    };
    const client = new Client({ connection: env.connection, namespace: env.namespace ?? 'default', interceptors: { workflow: [cutOff] } });
    const { answer, workflowStatus } = await startJobNoWorkerPolls('cut-off', { client });
    expect(answer).toMatchObject({ status: 'draft', credits: { reserved: 0 } });
    expect(workflowStatus).toBe('RUNNING');
  });

  it('refuses jobs that cannot run with the precise code', async () => {
    await account('refusals');
    const action = await call('POST', '/v1/accounts/refusals/jobs', { json: { feature: 'ai.variable', userId: 'sdr', idempotencyKey: 'a' } });
    expect([action.status, errorCode(action)]).toEqual([422, 'VALIDATION_FAILED']);
    const gated = await call('POST', '/v1/accounts/refusals/jobs', { json: { feature: 'contact.email-check', userId: 'sdr', idempotencyKey: 'b' } });
    expect([gated.status, errorCode(gated)]).toEqual([403, 'FEATURE_NOT_IN_PLAN']);
    const unknownAccount = await call('POST', '/v1/accounts/nobody/jobs', { json: { feature: 'lead.email-finder', userId: 'sdr', idempotencyKey: 'c' } });
    expect([unknownAccount.status, errorCode(unknownAccount)]).toEqual([404, 'UNKNOWN_ACCOUNT']);
    const reused = await call('POST', '/v1/accounts/refusals/jobs', { json: { feature: 'lead.email-finder', userId: 'sdr', idempotencyKey: 'd', records: records('x', 1) } });
    expect(reused.status).toBe(201);
    const conflict = await call('POST', '/v1/accounts/refusals/jobs', { json: { feature: 'lead.email-finder', userId: 'sdr', idempotencyKey: 'd', records: records('y', 1) } });
    expect([conflict.status, errorCode(conflict)]).toEqual([409, 'IDEMPOTENCY_CONFLICT']);
    for (const path of ['/v1/jobs/nope', '/v1/jobs/nope/results', '/v1/jobs/nope/start']) {
      const answer = await call(path.endsWith('start') ? 'POST' : 'GET', path);
      expect([answer.status, errorCode(answer)]).toEqual([404, 'UNKNOWN_JOB']);
    }
    const records415 = await call('POST', `/v1/jobs/${(reused.body as { jobId: string }).jobId}/records`, { body: 'recordId=1', contentType: 'text/csv' });
    expect([records415.status, errorCode(records415)]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
  });
});
