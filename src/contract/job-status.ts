/**
 * A job's statuses and the moves between them, once: the `jobs` row is the truth for a job's
 * status, the job store moves it (and asserts each move here), and the routes and the job
 * workflow's update validators ask the same predicates. Pure: workflow code imports it.
 */
export const JOB_STATUSES = ['draft', 'running', 'paused', 'completed', 'cancelled', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const PAUSE_REASONS = ['OUT_OF_CREDITS'] as const;
export type PauseReason = (typeof PAUSE_REASONS)[number];

/** The statuses a job ends in; nothing changes it afterwards. */
export const FINAL_JOB_STATUSES = ['completed', 'cancelled', 'failed'] as const satisfies readonly JobStatus[];
export type FinalJobStatus = (typeof FINAL_JOB_STATUSES)[number];

/** Where a job may go from each status. A job that has not ended may end in any of the final statuses. */
export const JOB_TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  draft: ['running', ...FINAL_JOB_STATUSES],
  running: ['paused', ...FINAL_JOB_STATUSES],
  paused: ['running', ...FINAL_JOB_STATUSES],
  completed: [],
  cancelled: [],
  failed: [],
};

export const canMoveJob = (from: JobStatus, to: JobStatus): boolean => JOB_TRANSITIONS[from].includes(to);
export const isFinalJobStatus = (status: JobStatus): status is FinalJobStatus => JOB_TRANSITIONS[status].length === 0;
/** A cancel can be asked for until the job has ended. */
export const canCancelJob = (status: JobStatus): boolean => canMoveJob(status, 'cancelled');
/** Only a draft is started; starting a job that has started answers it as it is. */
export const canStartJob = (status: JobStatus): boolean => status === 'draft' && canMoveJob(status, 'running');
/** Only a paused job is resumed: a draft one is started. */
export const canResumeJob = (status: JobStatus): boolean => status === 'paused' && canMoveJob(status, 'running');
