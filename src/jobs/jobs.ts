import type { z } from 'zod';
import type { FinalJobStatus, JobStatus, PauseReason } from '../contract/job-status.js';
import { createJob } from './create.js';
import type { appendRecordsInput, createJobInput } from './inputs.js';
import type { JobDeps } from './job.js';
import { begin, finish, pause, requestCancel, reserveMore } from './lifecycle.js';
import { getJob, jobBacklog, jobStatus, listJobs } from './reads.js';
import { appendRecords, lastSeq, pendingRecords, type SeqWindow } from './records.js';
import { budget, recordResults, storeResults, type RecordResult } from './results.js';

export type { JobDeps } from './job.js';
export type { Reservation } from './lifecycle.js';
export type { JobStatusView, JobView } from './reads.js';
export type { PendingRecord, SeqWindow } from './records.js';
export { flushProgress, type BatchBudget, type RecordResult } from './results.js';

export type JobStore = ReturnType<typeof createJobStore>;

/**
 * Jobs and their records in PostgreSQL, one module per group of operations (create, records,
 * reads, lifecycle, results), each a plain function of its dependencies and its input. The workflow
 * drives a job; each step is one transaction: reserving with the status change and its event,
 * storing results with their charge.
 */
export function createJobStore(deps: JobDeps) {
  return {
    createJob: (input: z.input<typeof createJobInput>) => createJob(deps, input),
    appendRecords: (input: z.input<typeof appendRecordsInput>) => appendRecords(deps, input),
    jobStatus: (jobId: string) => jobStatus(deps, { jobId }),
    getJob: (jobId: string, now: Date) => getJob(deps, { jobId, now }),
    listJobs: (input: { accountId: string; status?: JobStatus; limit: number; now: Date }) => listJobs(deps, input),
    results: (jobId: string, afterSeq: number, limit: number) => recordResults(deps, { jobId, afterSeq, limit }),
    begin: (jobId: string, now: Date) => begin(deps, { jobId, now }),
    reserveMore: (jobId: string, now: Date, resume: boolean) => reserveMore(deps, { jobId, now, resume }),
    pause: (jobId: string, reason: PauseReason, now: Date) => pause(deps, { jobId, reason, now }),
    requestCancel: (jobId: string, now: Date) => requestCancel(deps, { jobId, now }),
    finish: (jobId: string, status: FinalJobStatus, stopReason: string | null, now: Date) => finish(deps, { jobId, status, stopReason, now }),
    pendingRecords: (jobId: string, limit: number, window?: SeqWindow) => pendingRecords(deps, { jobId, limit, ...(window ? { window } : {}) }),
    lastSeq: (jobId: string) => lastSeq(deps, { jobId }),
    budget: (jobId: string, now: Date) => budget(deps, { jobId, now }),
    storeResults: (jobId: string, results: readonly RecordResult[], now: Date) => storeResults(deps, { jobId, results, now }),
    backlog: () => jobBacklog(deps),
  };
}
