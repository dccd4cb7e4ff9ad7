import { createRoute, z } from '@hono/zod-openapi';
import { canCancelJob, canResumeJob, canStartJob } from '../../contract/job-status.js';
import { JOB_LIMITS } from '../../contract/limits.js';
import type { JobStatusView, JobView as StoredJob } from '../../jobs/jobs.js';
import { microsToCredits, parseCredits } from '../../money.js';
import type { ApiApp, ApiDeps } from '../context.js';
import { ApiError } from '../errors.js';
import { ndjsonLines } from '../ndjson.js';
import { errors, json, jsonBody } from '../openapi.js';
import { access } from '../auth.js';
import {
  AccountIdParams,
  AppendRecordsRequest,
  AppendRecordsResponse,
  CreateJobRequest,
  JobIdParams,
  JobListQuery,
  JobListResponse,
  JobRecord,
  JobResponse,
  JobResultsQuery,
  JobResultsResponse,
  type JobRecordBody,
} from '../schemas.js';
import { jobView } from '../views.js';

/** Records per transaction when a stream of records is appended. */
const STREAM_CHUNK = JOB_LIMITS.maxRecordsPerAppend;
const MAX_LINE_CHARS = JOB_LIMITS.maxRecordInputBytes + 1_024;

const tags = ['jobs'];

const createJob = createRoute({
  method: 'post',
  path: '/v1/accounts/{accountId}/jobs',
  tags,
  ...access({ scope: 'service' }),
  summary: 'Create a bulk enrichment job',
  description: `Records may be given inline (up to ${JOB_LIMITS.maxRecordsPerAppend}) or appended later. Idempotent by idempotencyKey. With start: true the job starts at once.`,
  request: { params: AccountIdParams, body: jsonBody(CreateJobRequest) },
  responses: {
    201: json(JobResponse, 'the job'),
    ...errors('UNKNOWN_ACCOUNT', 'UNKNOWN_FEATURE', 'FEATURE_NOT_IN_PLAN', 'CREDITS_DISALLOWED', 'UNKNOWN_USER', 'IDEMPOTENCY_CONFLICT', 'JOB_STATE_CONFLICT', 'UNAVAILABLE'),
  },
});

const listJobs = createRoute({
  method: 'get',
  path: '/v1/accounts/{accountId}/jobs',
  tags,
  ...access({ scope: 'read', session: 'account' }),
  summary: "An account's jobs, newest first",
  request: { params: AccountIdParams, query: JobListQuery },
  responses: { 200: json(JobListResponse, 'jobs'), ...errors('UNKNOWN_ACCOUNT') },
});

const appendRecords = createRoute({
  method: 'post',
  path: '/v1/jobs/{jobId}/records',
  tags,
  ...access({ scope: 'service' }),
  summary: 'Append records to a draft job',
  description: `A JSON array of up to ${JOB_LIMITS.maxRecordsPerAppend} records, or an NDJSON stream (application/x-ndjson, one record per line) of any length, appended ${STREAM_CHUNK} at a time. A record whose recordId is already in the job is ignored, so a failed stream can be sent again whole.`,
  request: {
    params: JobIdParams,
    body: {
      // Not required for the validator: it would parse an NDJSON stream as JSON. The handler checks.
      required: false,
      content: { 'application/json': { schema: AppendRecordsRequest }, 'application/x-ndjson': { schema: z.string().openapi({ example: '{"recordId":"r1","input":{"email":"a@example.com"}}\n' }) } },
    },
  },
  responses: { 200: json(AppendRecordsResponse, 'records appended'), ...errors('UNKNOWN_JOB', 'JOB_STATE_CONFLICT', 'MALFORMED_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE') },
});

const control = (action: 'start' | 'resume' | 'cancel', summary: string, description: string, codes: Parameters<typeof errors>) =>
  createRoute({
    method: 'post',
    path: `/v1/jobs/{jobId}/${action}`,
    tags,
    ...access({ scope: 'service' }),
    summary,
    description,
    request: { params: JobIdParams },
    responses: { 200: json(JobResponse, 'the job'), ...errors('UNKNOWN_JOB', 'JOB_STATE_CONFLICT', 'UNAVAILABLE', ...codes) },
  });

const startJob = control(
  'start',
  'Start a draft job',
  'Reserves the job’s maximum and starts enriching; answers once the credits are reserved (running, or paused when there were none). Starting a job that already started answers its state.',
  [],
);
const resumeJob = control('resume', 'Resume a paused job', 'Only an explicit resume restarts a job paused for lack of credits; 402 while credits are still missing.', ['INSUFFICIENT_CREDITS']);
const cancelJob = control('cancel', 'Cancel a job', 'Ends the job and releases the credits still reserved; the batch in flight stores and charges nothing more.', []);

const getJob = createRoute({
  method: 'get',
  path: '/v1/jobs/{jobId}',
  tags,
  ...access({ scope: 'read' }),
  summary: 'Status, pause reason, progress and credits of a job',
  request: { params: JobIdParams },
  responses: { 200: json(JobResponse, 'the job'), ...errors('UNKNOWN_JOB') },
});

const jobResults = createRoute({
  method: 'get',
  path: '/v1/jobs/{jobId}/results',
  tags,
  ...access({ scope: 'read' }),
  summary: 'Per-record outcomes in append order, a page at a time',
  request: { params: JobIdParams, query: JobResultsQuery },
  responses: { 200: json(JobResultsResponse, 'a page of results'), ...errors('UNKNOWN_JOB') },
});

export function jobRoutes(app: ApiApp, deps: ApiDeps): void {
  const { jobs, temporal } = deps;

  /**
   * The job as stored, after its row has caught up with a workflow that ended without finishing it
   * (terminated from the Web UI or the CLI): such a job is failed, with the reason, and its hold released.
   */
  async function reconciled(jobId: string): Promise<JobStatusView> {
    const job = await jobs.jobStatus(jobId);
    if (job.status !== 'running' && job.status !== 'paused') return job;
    const ended = await temporal.endedJobWorkflow(jobId);
    if (ended === null) return job;
    deps.logger.warn({ jobId, reason: ended }, 'job failed: its workflow ended without finishing it');
    await jobs.finish(jobId, 'failed', ended, deps.now());
    return jobs.jobStatus(jobId);
  }

  async function start(job: JobStatusView): Promise<StoredJob> {
    if (job.status === 'cancelled' && job.holdId === null) {
      throw new ApiError('JOB_STATE_CONFLICT', `job "${job.jobId}" was cancelled before it started`, { jobId: job.jobId, status: job.status });
    }
    if (canStartJob(job.status)) {
      const started = await temporal.startJob({ jobId: job.jobId, accountId: job.accountId, feature: job.feature, timeZone: job.timeZone });
      if (started === null) deps.logger.warn({ jobId: job.jobId }, 'job has not begun yet: is a worker running?');
    }
    return jobs.getJob(job.jobId, deps.now());
  }

  app.openapi(createJob, async (c) => {
    const { accountId } = c.req.valid('param');
    const body = c.req.valid('json');
    const created = await jobs.createJob({
      accountId,
      feature: body.feature,
      userId: body.userId,
      idempotencyKey: body.idempotencyKey,
      records: body.records,
      ...(body.jobId ? { jobId: body.jobId } : {}),
      ...(body.maxCredits === undefined ? {} : { maxCredits: parseCredits(body.maxCredits) }),
      now: deps.now(),
    });
    c.header('Idempotent-Replayed', String(created.replayed));
    const job = body.start ? await start(created) : created;
    return c.json(jobView(job), 201);
  });

  app.openapi(listJobs, async (c) => {
    const { accountId } = c.req.valid('param');
    const query = c.req.valid('query');
    const list = await jobs.listJobs({ accountId, limit: query.limit, now: deps.now(), ...(query.status ? { status: query.status } : {}) });
    return c.json({ jobs: list.map(jobView) }, 200);
  });

  app.openapi(appendRecords, async (c) => {
    const { jobId } = c.req.valid('param');
    const contentType = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (contentType !== 'application/x-ndjson') {
      const records = c.req.valid('json') as JobRecordBody[] | undefined;
      if (!Array.isArray(records)) throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'send records as application/json (an array) or application/x-ndjson (one per line)');
      return c.json(await jobs.appendRecords({ jobId, records, now: deps.now() }), 200);
    }
    const body = c.req.raw.body ?? new ReadableStream<Uint8Array>({ start: (controller) => { controller.close(); } });
    let added = 0;
    let total = 0;
    let chunk: JobRecordBody[] = [];
    const flush = async () => {
      const result = await jobs.appendRecords({ jobId, records: chunk, now: deps.now() });
      added += result.added;
      total = result.total;
      chunk = [];
    };
    let lines = 0;
    for await (const { line, lineNumber } of ndjsonLines(body, MAX_LINE_CHARS)) {
      lines++;
      const record = parseRecordLine(line, lineNumber, added);
      chunk.push(record);
      if (chunk.length === STREAM_CHUNK) await flush();
    }
    if (chunk.length > 0) await flush();
    if (lines === 0) throw new ApiError('VALIDATION_FAILED', 'the NDJSON body holds no record', { issues: [{ path: '', message: 'must hold at least one record' }] });
    return c.json({ jobId, added, total }, 200);
  });

  app.openapi(startJob, async (c) => {
    return c.json(jobView(await start(await jobs.jobStatus(c.req.valid('param').jobId))), 200);
  });

  app.openapi(resumeJob, async (c) => {
    const { jobId } = c.req.valid('param');
    const job = await reconciled(jobId);
    if (!canResumeJob(job.status)) {
      throw new ApiError('JOB_STATE_CONFLICT', `job "${jobId}" is ${job.status}: only a paused job can be resumed`, { jobId, status: job.status });
    }
    // The resume answers once the job's row is running again.
    await temporal.resumeJob(jobId);
    return c.json(jobView(await jobs.getJob(jobId, deps.now())), 200);
  });

  app.openapi(cancelJob, async (c) => {
    const { jobId } = c.req.valid('param');
    const { status } = await jobs.jobStatus(jobId);
    if (!canCancelJob(status)) {
      throw new ApiError('JOB_STATE_CONFLICT', `job "${jobId}" is already ${status}`, { jobId, status });
    }
    // The workflow's cancel answers once the job's row has ended; a job without a workflow is ended here.
    const ended = (await temporal.cancelJob(jobId)) ? await jobs.getJob(jobId, deps.now()) : await jobs.finish(jobId, 'cancelled', null, deps.now());
    return c.json(jobView(ended), 200);
  });

  app.openapi(getJob, async (c) => {
    const { jobId } = c.req.valid('param');
    await reconciled(jobId);
    return c.json(jobView(await jobs.getJob(jobId, deps.now())), 200);
  });

  app.openapi(jobResults, async (c) => {
    const { jobId } = c.req.valid('param');
    const query = c.req.valid('query');
    const results = await jobs.results(jobId, query.after, query.limit);
    const last = results.at(-1);
    return c.json(
      { results: results.map((result) => ({ ...result, charged: microsToCredits(result.charged) })), nextAfter: results.length === query.limit && last ? last.seq : null },
      200,
    );
  });
}

function parseRecordLine(line: string, lineNumber: number, appended: number): JobRecordBody {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ApiError('MALFORMED_JSON', `line ${lineNumber} is not JSON (${appended} records before it were appended)`, { line: lineNumber, appended });
  }
  const parsed = JobRecord.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({ path: [`line ${lineNumber}`, ...issue.path.map(String)].join('.'), message: issue.message }));
    throw new ApiError('VALIDATION_FAILED', `line ${lineNumber}: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')} (${appended} records before it were appended)`, {
      issues,
      line: lineNumber,
      appended,
    });
  }
  return parsed.data;
}
