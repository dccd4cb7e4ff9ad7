import type { Client, WorkflowHandle } from '@temporalio/client';
import { jobWorkflowId, type JobWorkflowInput } from '../../workflows/job-messages.js';
import type { jobWorkflow } from '../../workflows/job.js';
import { ACCOUNT_ID, FEATURE, JOB_STATUS } from '../../workflows/search-attributes.js';
import { startOnce } from './start-once.js';

export type StartJobInput = Omit<JobWorkflowInput, 'carried'>;

/** Starts a job's workflow; repeating the call returns the job's existing workflow. */
export async function startJob(client: Client, taskQueue: string, input: StartJobInput): Promise<WorkflowHandle<typeof jobWorkflow>> {
  return startOnce<typeof jobWorkflow>(client, 'jobWorkflow', {
    workflowId: jobWorkflowId(input.jobId),
    taskQueue,
    args: [input],
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: [
      { key: ACCOUNT_ID, value: input.accountId },
      { key: FEATURE, value: input.feature },
      { key: JOB_STATUS, value: 'running' },
    ],
    staticSummary: `Bulk ${input.feature} job ${input.jobId} for account ${input.accountId}`,
    staticDetails: 'Reserves credits up front, enriches records in batches, charges only chargeable outcomes, pauses with OUT_OF_CREDITS until resumed, releases what is left when it ends.',
  });
}
