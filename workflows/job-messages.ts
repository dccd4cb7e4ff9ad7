import { defineQuery, defineUpdate } from '@temporalio/workflow';

export type JobWorkflowStatus = 'running' | 'paused' | 'completed' | 'cancelled' | 'failed';
export type JobPauseReason = 'OUT_OF_CREDITS';

export interface JobWorkflowInput {
  jobId: string;
  accountId: string;
  feature: string;
  /** Records per batch activity. */
  batchSize?: number;
  /** Batches per run before continuing as new, so history stays small for millions of records. */
  batchesPerRun?: number;
  /** Set only by continue-as-new. */
  carried?: JobCarried;
}

export interface JobCounters {
  processed: number;
  verified: number;
  notFound: number;
  failed: number;
  /** Credits charged so far, in micros. */
  charged: number;
}

export interface JobCarried {
  status: JobWorkflowStatus;
  pauseReason: JobPauseReason | null;
  total: number;
  counters: JobCounters;
  batches: number;
  cancelRequested: boolean;
}

export interface JobState extends JobCarried {
  jobId: string;
  accountId: string;
  feature: string;
  stopReason: string | null;
}

export interface ResumeResult {
  status: JobWorkflowStatus;
  /** Credits newly earmarked for the job, in micros. */
  reserved: number;
}

export const jobStateQuery = defineQuery<JobState>('jobState');
export const resumeJobUpdate = defineUpdate<ResumeResult>('resume');
export const cancelJobUpdate = defineUpdate<{ status: JobWorkflowStatus }>('cancel');

export const jobWorkflowId = (jobId: string): string => `job:${jobId}`;
