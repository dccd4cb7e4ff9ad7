import { WithStartWorkflowOperation, type Client, type WorkflowHandle, type WorkflowStartOptions } from '@temporalio/client';
import { jobWorkflowId, startedJobUpdate, type JobStarted, type JobWorkflowInput } from '../../workflows/job-messages.js';
import type { jobWorkflow } from '../../workflows/job.js';
import { ACCOUNT_ID, FEATURE, JOB_STATUS } from '../../workflows/search-attributes.js';
import { startOnce } from './start-once.js';

export type StartJobInput = Omit<JobWorkflowInput, 'carried'>;

/** How a job's workflow is started: one per job, ever (a job's workflow that ended is not started again). */
function jobStartOptions(taskQueue: string, input: StartJobInput): WorkflowStartOptions<typeof jobWorkflow> & { workflowIdConflictPolicy: 'USE_EXISTING' } {
  return {
    workflowId: jobWorkflowId(input.jobId),
    taskQueue,
    args: [input],
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [
      { key: ACCOUNT_ID, value: input.accountId },
      { key: FEATURE, value: input.feature },
      { key: JOB_STATUS, value: 'running' },
    ],
    staticSummary: `Bulk ${input.feature} job ${input.jobId} for account ${input.accountId}`,
    staticDetails: 'Reserves credits up front, enriches records in batches, charges only chargeable outcomes, pauses with OUT_OF_CREDITS until resumed, releases what is left when it ends.',
  };
}

/** Starts a job's workflow; repeating the call returns the job's existing workflow. */
export async function startJob(client: Client, taskQueue: string, input: StartJobInput): Promise<WorkflowHandle<typeof jobWorkflow>> {
  return startOnce<typeof jobWorkflow>(client, 'jobWorkflow', jobStartOptions(taskQueue, input));
}

/**
 * Starts a job's workflow (or finds it running) and answers once the job has begun, in one call:
 * update-with-start of `startedJobUpdate`. Safe to repeat while the workflow runs.
 */
export async function beginJob(client: Client, taskQueue: string, input: StartJobInput): Promise<JobStarted> {
  return client.workflow.executeUpdateWithStart(startedJobUpdate, {
    startWorkflowOperation: new WithStartWorkflowOperation<typeof jobWorkflow>('jobWorkflow', jobStartOptions(taskQueue, input)),
  });
}
