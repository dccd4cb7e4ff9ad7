import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { JobProgress } from '../src/contract/job-progress.js';
import type { JobStatus, PauseReason } from '../src/contract/job-status.js';

/** A job's status as its workflow knows it: the workflow starts the job out of draft. */
export type JobWorkflowStatus = Exclude<JobStatus, 'draft'>;

export interface JobWorkflowInput {
  jobId: string;
  accountId: string;
  feature: string;
  /** The account's, for the instants of the Web UI's current details; UTC when absent (runs started before it). */
  timeZone?: string;
  /** Records per batch activity. */
  batchSize?: number;
  /** Batches per run before continuing as new, so history stays small for millions of records. */
  batchesPerRun?: number;
  /** Set only by continue-as-new. */
  carried?: JobCarried;
}

/** Records of a job by seq, first to last (both included): what one batch may enrich. */
export interface SeqRange {
  first: number;
  last: number;
}

/** What one run hands the next: only what drives the batches. The job's row holds its progress. */
export interface JobCarried {
  status: JobWorkflowStatus;
  pauseReason: PauseReason | null;
  batches: number;
  cancelRequested: boolean;
  /** The first seq no batch has been given yet (runs of batches over ranges; 1 when absent). */
  nextSeq?: number;
  /** Ranges given to a batch that did not finish them (out of credits, one of several on a short hold): redone first. */
  unfinished?: SeqRange[];
}

export interface JobState extends JobCarried {
  jobId: string;
  accountId: string;
  feature: string;
  stopReason: string | null;
}

/** How the workflow ended, with the job's progress as its row said once the job had ended. */
export interface JobResult extends JobState {
  counters: JobProgress;
}

/** The job's status as its row says once it has begun (its hold reserved), or once it ended trying. */
export interface JobStarted {
  status: JobStatus;
}

export interface ResumeResult {
  status: JobWorkflowStatus;
  /** Credits newly earmarked for the job, in micros. */
  reserved: number;
}

export interface JobCancelResult {
  /** As the job's row says once the cancel is done: cancelled, or how the job ended if it ended first. */
  status: JobStatus;
}

export const jobStateQuery = defineQuery<JobState>('jobState');
/**
 * Answers once the job has begun: the API starts a job with this update and the workflow's start in
 * one call (update-with-start), rather than polling the job's row.
 */
export const startedJobUpdate = defineUpdate<JobStarted>('started');
export const resumeJobUpdate = defineUpdate<ResumeResult>('resume');
export const cancelJobUpdate = defineUpdate<JobCancelResult>('cancel');

export const jobWorkflowId = (jobId: string): string => `job:${jobId}`;
