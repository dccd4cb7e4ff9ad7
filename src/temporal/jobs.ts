import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { jobWorkflowId, type JobWorkflowInput } from '../../workflows/job-messages.js';
import type { jobWorkflow } from '../../workflows/job.js';
import { ACCOUNT_ID, FEATURE, JOB_STATUS } from '../../workflows/search-attributes.js';

export type StartJobInput = Omit<JobWorkflowInput, 'carried'>;

/** Starts a job's workflow; repeating the call returns the job's existing workflow. */
export async function startJob(client: Client, taskQueue: string, input: StartJobInput): Promise<WorkflowHandle<typeof jobWorkflow>> {
  const workflowId = jobWorkflowId(input.jobId);
  try {
    return await client.workflow.start<typeof jobWorkflow>('jobWorkflow', {
      workflowId,
      taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [
        { key: ACCOUNT_ID, value: input.accountId },
        { key: FEATURE, value: input.feature },
        { key: JOB_STATUS, value: 'running' },
      ],
      staticSummary: `Bulk ${input.feature} job ${input.jobId} for account ${input.accountId}`,
      staticDetails: 'Reserves credits up front, enriches records in batches, charges only chargeable outcomes, pauses with OUT_OF_CREDITS until resumed, releases what is left when it ends.',
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return client.workflow.getHandle(workflowId);
    throw error;
  }
}
