import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle, type WorkflowStartOptions } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';

/**
 * Starts a workflow whose id is derived from a business id, so the call is safe to repeat: while
 * it runs, the existing execution is used; if the reuse policy refuses a new one, its handle is returned.
 */
export async function startOnce<W extends Workflow>(client: Client, workflowType: string, options: WorkflowStartOptions<W>): Promise<WorkflowHandle<W>> {
  try {
    return await client.workflow.start<W>(workflowType, { workflowIdConflictPolicy: 'USE_EXISTING', ...options });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return client.workflow.getHandle<W>(options.workflowId);
    throw error;
  }
}
